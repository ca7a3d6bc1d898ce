import ArgumentParser
import Dashboard
import Foundation
import KMSModel
import TerminalUI

extension ConfirmMode: ExpressibleByArgument {}

/// `kmsdash` / `kmsdash dashboard`: the ncurses dashboard on the embedded engine.
struct DashboardCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dashboard",
    abstract: "Open the terminal dashboard on the embedded engine (the default command).",
    discussion: """
      Shows every custom key store with its live ConnectionState; d / c disconnect and connect
      with a confirmation dialog, Enter lists a store's keys, f opens the QA fault panel, ? lists
      every key. NO_COLOR in the environment has the same effect as --no-color.
      """)

  @OptionGroup var engineOptions: EngineOptions

  @Flag(help: "Block every mutating action (connect, disconnect, fault injection).")
  var readOnly = false

  @Flag(help: "No colours; states stay distinguishable by text and attributes.")
  var noColor = false

  @Option(
    help: ArgumentHelp(
      "How to confirm disconnect/connect: plain (y) or typed (the store name).", valueName: "mode"))
  var confirm: ConfirmMode = .plain

  func run() async throws {
    let stateStore = try engineOptions.openStateStore()
    let engine = try await engineOptions.makeEngine(store: stateStore)
    let backend =
      stateStore.map { "embedded engine, state \(abbreviatingHome($0.path))" }
      ?? "embedded engine (in memory)"
    let noColorEnv = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
    let config = DashboardConfig(
      backend: backend, readOnly: readOnly, confirm: confirm, color: !(noColor || noColorEnv),
      simulator: true)
    let code = await runTerminalDashboard(service: engine, control: engine, config: config)
    if code != 0 { throw ExitCode(code) }
  }
}

/// Opens the terminal, runs the dashboard until it quits, restores the terminal, and returns the
/// exit status (130 after Ctrl-C, 128+n after a signal; 1 when the terminal cannot be opened).
@TerminalActor
func runTerminalDashboard(
  service: any KeyStoreService, control: (any SimulatorControl)?, config: DashboardConfig
) async -> Int32 {
  let terminal: NcursesTerminal
  do {
    terminal = try NcursesTerminal.open(options: TerminalOptions(color: config.color))
  } catch {
    let message = "kmsdash: \(error)\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    return 1
  }
  let runtime = DashboardRuntime(terminal: terminal, service: service, control: control, config: config)
  return await runtime.run()
}

/// `/home/me/x` → `~/x`, for display.
func abbreviatingHome(_ path: String) -> String {
  guard let home = ProcessInfo.processInfo.environment["HOME"], !home.isEmpty, path.hasPrefix(home + "/")
  else {
    return path
  }
  return "~" + path.dropFirst(home.count)
}
