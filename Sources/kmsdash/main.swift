import ArgumentParser

/// The root command: without a subcommand, `kmsdash` opens the dashboard.
struct Kmsdash: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kmsdash",
    abstract: "A terminal dashboard and local simulator for AWS KMS custom key stores.",
    subcommands: [
      DashboardCommand.self, ServeCommand.self, FaultCommand.self, ResetCommand.self, XKSProxyCommand.self,
    ],
    defaultSubcommand: DashboardCommand.self)
}

// Inside an async function the asynchronous `main` is chosen; in top-level code the synchronous
// overload wins and refuses asynchronous subcommands.
func runKmsdash() async { await Kmsdash.main(nil) }
await runKmsdash()
