import Foundation
import Testing

/// Where tmux is, or nil.
let tmuxPath: String? = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"].first {
  FileManager.default.isExecutableFile(atPath: $0)
}
let isCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false
let tmuxMissingMessage = "tmux is not installed: apt-get install -y tmux"

/// Why an end-to-end test cannot run; thrown, so the test fails.
struct E2EError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Skips (locally) or fails (with CI set) when tmux is missing.
func requireTmux() -> Bool {
  if tmuxPath != nil { return true }
  if isCI { Issue.record(Comment(rawValue: tmuxMissingMessage)) }
  return false
}

/// The kmsdash binary built alongside the tests.
func kmsdashBinary() -> String? {
  var candidates: [URL] = []
  let arg0 = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
  candidates.append(arg0.deletingLastPathComponent().appendingPathComponent("kmsdash"))
  candidates.append(
    arg0.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("kmsdash"))
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  candidates.append(root.appendingPathComponent(".build/debug/kmsdash"))
  return candidates.map(\.path).first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The repository root (for committed assets such as the demo trust anchor).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// A private tmux server running one session.
final class TmuxSession {
  let socket: String
  let session = "e2e"
  private static let counter = Counter()

  final class Counter: @unchecked Sendable {
    private var n = 0
    private let lock = NSLock()
    func next() -> Int {
      lock.lock()
      defer { lock.unlock() }
      n += 1
      return n
    }
  }

  /// Starts `command` in a detached session of the given size. After the command exits the
  /// pane prints its exit status and the terminal modes, then stays open.
  init(command: String, width: Int = 120, height: Int = 35, env: [String: String] = [:]) throws {
    socket = "kmsdash-e2e-\(getpid())-\(Self.counter.next())"
    let wrapped =
      "\(command); echo EXIT=$?; echo TTY: $(stty -a | tr ' ;' '\\n\\n' | grep -x -E -e '-?(isig|icanon|echo)' | tr '\\n' ' '); sleep 120"
    var args = ["new-session", "-d", "-s", session, "-x", "\(width)", "-y", "\(height)"]
    // Each session gets its own state directory: the default state file is durable and would
    // otherwise carry one test's changes into the next.
    var env = env
    if env["XDG_STATE_HOME"] == nil {
      env["XDG_STATE_HOME"] =
        FileManager.default.temporaryDirectory
        .appendingPathComponent("kmsdash-e2e-state-\(getpid())-\(socket)").path
    }
    for (k, v) in env.sorted(by: { $0.key < $1.key }) { args += ["-e", "\(k)=\(v)"] }
    args.append(wrapped)
    try tmux(args)
  }

  deinit {
    _ = try? tmux(["kill-server"])
    unlink("/tmp/tmux-\(getuid())/\(socket)")  // the server leaves its socket file behind
  }

  @discardableResult
  func tmux(_ args: [String], capture: Bool = false) throws -> String {
    try spawn([tmuxPath!, "-L", socket, "-f", "/dev/null"] + args, capture: capture)
  }

  func screen() -> String { (try? tmux(["capture-pane", "-p", "-t", session], capture: true)) ?? "" }

  func send(_ keys: String...) { _ = try? tmux(["send-keys", "-t", session] + keys) }

  /// Types literal text.
  func type(_ text: String) { _ = try? tmux(["send-keys", "-t", session, "-l", text]) }

  func resize(width: Int, height: Int) {
    _ = try? tmux(["resize-window", "-t", session, "-x", "\(width)", "-y", "\(height)"])
  }

  func alternateScreenOn() -> Bool {
    ((try? tmux(["display", "-p", "-t", session, "#{alternate_on}"], capture: true)) ?? "")
      .trimmingCharacters(in: .whitespacesAndNewlines) == "1"
  }

  func pipePane(to path: String) { _ = try? tmux(["pipe-pane", "-t", session, "-o", "cat >> \(path)"]) }

  /// Polls the screen until `predicate` holds; returns the last screen.
  @discardableResult
  func waitFor(
    _ what: String, timeout: TimeInterval = 10, sourceLocation: SourceLocation = #_sourceLocation,
    _ predicate: (String) -> Bool
  ) -> String {
    let deadline = Date().addingTimeInterval(timeout)
    var s = screen()
    while !predicate(s) {
      if Date() > deadline {
        Issue.record("timed out waiting for \(what). Screen:\n\(s)", sourceLocation: sourceLocation)
        return s
      }
      usleep(50_000)
      s = screen()
    }
    return s
  }

  /// Waits until the screen shows every text in `shows` and none in `lacks`: a test asserts only
  /// on a screen it waited for (tmux can capture a frame half-written).
  @discardableResult
  func waitFor(
    shows: [String], lacks: [String] = [], timeout: TimeInterval = 10,
    sourceLocation: SourceLocation = #_sourceLocation
  ) -> String {
    waitFor(
      "\(shows)\(lacks.isEmpty ? "" : " without \(lacks)")", timeout: timeout, sourceLocation: sourceLocation
    ) {
      screen in shows.allSatisfy(screen.contains) && !lacks.contains(where: screen.contains)
    }
  }

  @discardableResult
  func waitFor(_ text: String, timeout: TimeInterval = 10, sourceLocation: SourceLocation = #_sourceLocation)
    -> String
  {
    waitFor("\"\(text)\"", timeout: timeout, sourceLocation: sourceLocation) { $0.contains(text) }
  }

  /// The process ID of the direct child of the pane's shell whose name is `name`.
  func childPid(named name: String) -> pid_t? {
    let out = (try? tmux(["display", "-p", "-t", session, "#{pane_pid}"], capture: true)) ?? ""
    guard let shell = Int32(out.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
    let path = "/proc/\(shell)/task/\(shell)/children"
    guard let children = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    for c in children.split(separator: " ").compactMap({ Int32($0) }) {
      let comm = (try? String(contentsOfFile: "/proc/\(c)/comm", encoding: .utf8)) ?? ""
      if comm.trimmingCharacters(in: .whitespacesAndNewlines) == name { return c }
    }
    return nil
  }

  /// The screen line that contains `needle`.
  func line(containing needle: String) -> String? {
    screen().split(separator: "\n").map(String.init).first { $0.contains(needle) }
  }
}

struct SpawnError: Error, CustomStringConvertible {
  var description: String
}

/// Runs a program and waits for it, with posix_spawn + waitpid rather than Foundation's
/// `Process`: the child gets an empty signal mask and default dispositions (a tmux server that
/// inherited blocked signals ignored SIGTERM and never reaped its children), and stdout is a
/// pipe only when captured (a tmux server would inherit it and keep it open forever).
@discardableResult
func spawn(_ argv: [String], capture: Bool) throws -> String {
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  var fds: [Int32] = [-1, -1]
  if capture {
    guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe failed") }
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    posix_spawn_file_actions_addclose(&actions, fds[1])
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
  }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
  var attr = posix_spawnattr_t()
  posix_spawnattr_init(&attr)
  defer { posix_spawnattr_destroy(&attr) }
  var empty = sigset_t()
  sigemptyset(&empty)
  var all = sigset_t()
  sigfillset(&all)
  posix_spawnattr_setsigmask(&attr, &empty)
  posix_spawnattr_setsigdefault(&attr, &all)
  posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
  let cargs = argv.map { strdup($0) } + [nil]
  defer { for a in cargs { free(a) } }
  var pid: pid_t = 0
  let rc = posix_spawn(&pid, argv[0], &actions, &attr, cargs, environ)
  if capture { close(fds[1]) }
  guard rc == 0 else {
    if capture { close(fds[0]) }
    throw SpawnError(description: "posix_spawn \(argv[0]) failed: \(rc)")
  }
  var output: [UInt8] = []
  if capture {
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = read(fds[0], &buf, buf.count)
      if n <= 0 { break }
      output += buf[0..<n]
    }
    close(fds[0])
  }
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  return String(decoding: output, as: UTF8.self)
}
