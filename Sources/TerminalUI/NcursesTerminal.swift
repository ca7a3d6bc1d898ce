import CNcursesw
import Glibc

/// Why the terminal could not be opened.
public enum TerminalError: Error, CustomStringConvertible, Equatable {
  case notATerminal
  case unknownTerminalType(String)
  /// The terminal cannot place the cursor (TERM=dumb and the like): nothing could be drawn.
  case cannotAddressCursor(String)
  case initializationFailed(String)

  public var description: String {
    switch self {
    case .notATerminal:
      return "standard input and output must be a terminal (run kmsdash in an interactive shell)"
    case .unknownTerminalType(let t):
      return
        "unknown terminal type TERM=\"\(Sanitizer.sanitize(t))\": no terminfo entry found. "
        + "Try TERM=xterm-256color, or install ncurses-term."
    case .cannotAddressCursor(let t):
      return
        "TERM=\"\(Sanitizer.sanitize(t))\" cannot move the cursor, so the dashboard cannot be drawn on it. "
        + "Run kmsdash in a full terminal, or try TERM=xterm-256color."
    case .initializationFailed(let why):
      return "could not initialise the terminal: \(why)"
    }
  }
}

/// Options for the ncurses backend.
public struct TerminalOptions: Sendable {
  /// False for `NO_COLOR` / `--no-color`: colours are dropped, attributes kept.
  public var color: Bool
  /// The colours `Color.default` stands for (a theme's foreground and background); nil keeps the
  /// terminal's own.
  public var defaultColors: (fg: Color, bg: Color)?
  /// Mouse reporting: clicks and the wheel become `TerminalEvent.mouse` (`--no-mouse` turns it
  /// off). Never motion: an idle dashboard stays silent.
  public var mouse: Bool
  public init(color: Bool = true, defaultColors: (fg: Color, bg: Color)? = nil, mouse: Bool = false) {
    self.color = color
    self.defaultColors = defaultColors
    self.mouse = mouse
  }
}

// MARK: - Async-signal-safe globals
// The handlers below touch only these plain globals and memory allocated before they are
// installed: no allocation, no locks, no Swift runtime calls beyond plain loads and stores.

nonisolated(unsafe) private var signalPipeWrite: Int32 = -1
nonisolated(unsafe) private var interruptCount: Int32 = 0
nonisolated(unsafe) private var restoreArmed: Bool = false
nonisolated(unsafe) private var restoreBytes: UnsafeMutablePointer<UInt8>? = nil
nonisolated(unsafe) private var restoreLength: Int = 0
nonisolated(unsafe) private var savedTermios: UnsafeMutablePointer<termios>? = nil
nonisolated(unsafe) private var previousActions: UnsafeMutablePointer<sigaction>? = nil
nonisolated(unsafe) private var previousWinch: UnsafeMutablePointer<sigaction>? = nil
private let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT]

/// Writes the precomputed "leave curses mode" bytes and restores the shell's termios.
private func restoreTerminalUnsafe() {
  guard restoreArmed else { return }
  restoreArmed = false
  if let bytes = restoreBytes, restoreLength > 0 { _ = write(1, bytes, restoreLength) }
  if let t = savedTermios { _ = tcsetattr(0, TCSAFLUSH, t) }
}

private func forwardSignal(_ signo: Int32) {
  var byte = UInt8(truncatingIfNeeded: signo)
  if signalPipeWrite >= 0 { _ = write(signalPipeWrite, &byte, 1) }
}

private let quitSignalHandler: @convention(c) (Int32) -> Void = { signo in
  interruptCount += 1
  if interruptCount >= 3 {
    // The loop did not react to two signals: restore the terminal and leave now.
    restoreTerminalUnsafe()
    _exit(128 + signo)
  }
  forwardSignal(signo)
}

private let winchHandler: @convention(c) (Int32) -> Void = { signo in
  if let prev = previousWinch {
    if prev.pointee.sa_flags & Int32(SA_SIGINFO) != 0 {
      if let f = prev.pointee.__sigaction_handler.sa_sigaction { f(signo, nil, nil) }
    } else if let f = prev.pointee.__sigaction_handler.sa_handler,
      unsafeBitCast(f, to: Int.self) > 1
    {
      f(signo)
    }
  }
  forwardSignal(signo)
}

/// Declared at file scope so it is not isolated to `@TerminalActor`: `exit` may run on any thread.
private let atexitHandler: @convention(c) () -> Void = { restoreTerminalUnsafe() }

private let crashHandler: @convention(c) (Int32) -> Void = { signo in
  restoreTerminalUnsafe()
  if let prev = previousActions {
    _ = sigaction(signo, prev + Int(signo), nil)
  } else {
    signal(signo, SIG_DFL)
  }
  raise(signo)
}

private func install(
  _ signo: Int32, _ handler: @convention(c) (Int32) -> Void, old: UnsafeMutablePointer<sigaction>?
) {
  var sa = sigaction()
  sa.__sigaction_handler.sa_handler = handler
  sigemptyset(&sa.sa_mask)
  sa.sa_flags = Int32(SA_RESTART)
  _ = sigaction(signo, &sa, old)
}

// MARK: - The ncurses terminal

/// The ncurses backend of `Terminal`. All of it runs on the terminal thread.
@TerminalActor
public final class NcursesTerminal: Terminal {
  public let events: AsyncStream<TerminalEvent>
  private let continuation: AsyncStream<TerminalEvent>.Continuation
  private let options: TerminalOptions
  private let window: UnsafeMutablePointer<WINDOW>
  private let screen: OpaquePointer
  private let signalPipeRead: Int32
  private var previous: Buffer?
  private var pairs: [UInt16: Int16] = [:]
  private var nextPair: Int16 = 1
  private var colorEnabled: Bool
  private var isShutDown = false
  public private(set) var size: Size
  /// Bytes are not counted here (ncurses writes them); cells sent per frame are, for tests.
  public private(set) var lastFrameChangedCells = 0

  /// Opens the terminal on stdin/stdout. Throws a readable error for a missing tty or an unknown
  /// `TERM`, instead of letting ncurses exit the process.
  public static func open(options: TerminalOptions = TerminalOptions()) throws -> NcursesTerminal {
    guard isatty(0) == 1, isatty(1) == 1 else { throw TerminalError.notATerminal }
    return try NcursesTerminal(options: options)
  }

  private init(options: TerminalOptions) throws {
    self.options = options
    (events, continuation) = AsyncStream.makeStream(of: TerminalEvent.self)

    // Saved shell modes for crash-safe restore.
    let t = UnsafeMutablePointer<termios>.allocate(capacity: 1)
    t.initialize(to: termios())
    _ = tcgetattr(0, t)
    savedTermios = t

    // Self-pipe for signals.
    var p: [Int32] = [0, 0]
    guard pipe(&p) == 0 else { throw TerminalError.initializationFailed("pipe failed") }
    for fd in p {
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
    signalPipeRead = p[0]
    signalPipeWrite = p[1]

    // SIGINT/TERM/HUP before curses starts, so ncurses leaves them to us.
    for s in [SIGINT, SIGTERM, SIGHUP] { install(s, quitSignalHandler, old: nil) }

    setlocale(LC_ALL, "")
    let termName = getenv("TERM").map { String(cString: $0) } ?? ""
    guard let out = fdopen(1, "w"), let inp = fdopen(0, "r") else {
      throw TerminalError.initializationFailed("fdopen failed")
    }
    guard !termName.isEmpty, let scr = newterm(nil, out, inp) else {
      throw TerminalError.unknownTerminalType(termName)
    }
    // Without cursor addressing ncurses can only scroll lines past: refuse rather than draw garbage.
    guard let cup = tigetstr("cup"), Int(bitPattern: cup) != -1 else {
      endwin()
      delscreen(scr)
      if let t = savedTermios { _ = tcsetattr(0, TCSAFLUSH, t) }
      throw TerminalError.cannotAddressCursor(termName)
    }
    screen = scr
    guard let win = tui_stdscr() else { throw TerminalError.initializationFailed("no stdscr") }
    window = win

    cbreak()
    noecho()
    nonl()
    intrflush(win, false)
    keypad(win, true)
    nodelay(win, true)
    leaveok(win, true)
    curs_set(0)
    set_escdelay(25)
    if options.mouse {
      // No click resolution: ncurses would otherwise hold a press back for up to mouseinterval
      // waiting for its release. The dashboard tells clicks from double-clicks itself, by clock.
      mouseinterval(0)
      _ = mousemask(MouseDecoder.mask, nil)
    }
    colorEnabled = options.color && has_colors()
    if colorEnabled {
      start_color()
      if let (fg, bg) = options.defaultColors {
        // Every cell drawn in the default colours (and the erased screen) takes the theme's.
        assume_default_colors(Int32(Self.number(fg)), Int32(Self.number(bg)))
      } else {
        use_default_colors()
      }
    }
    size = Size(width: Int(getmaxx(win)), height: Int(getmaxy(win)))

    // Precompute the bytes that leave curses mode, for the crash and atexit paths.
    var bytes: [UInt8] = []
    if options.mouse { bytes += Array(MouseDecoder.disableSequence.utf8) }
    for cap in ["sgr0", "cnorm", "rmkx", "rmcup"] {
      if let s = tigetstr(cap), Int(bitPattern: s) != -1 {
        var q = UnsafePointer<CChar>(s)
        while q.pointee != 0 {
          bytes.append(UInt8(bitPattern: q.pointee))
          q += 1
        }
      }
    }
    let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
    buf.initialize(from: bytes, count: bytes.count)
    restoreBytes = buf
    restoreLength = bytes.count
    restoreArmed = true

    // Crash signals: restore, then chain to the previous handler (the Swift backtracer).
    let prev = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
    prev.initialize(repeating: sigaction(), count: 65)
    previousActions = prev
    for s in crashSignals { install(s, crashHandler, old: prev + Int(s)) }
    atexit(atexitHandler)

    // SIGWINCH after initscr, chained to ncurses' own handler.
    let winch = UnsafeMutablePointer<sigaction>.allocate(capacity: 1)
    winch.initialize(to: sigaction())
    previousWinch = winch
    install(SIGWINCH, winchHandler, old: winch)

    TerminalRunLoop.shared.watch(fd: 0) { [weak self] readiness in
      guard let self else { return }
      if readiness.readable { self.drainInput() }
      if readiness.hangUp { self.continuation.yield(.signal(SIGHUP)) }
    }
    TerminalRunLoop.shared.watch(fd: signalPipeRead) { [weak self] _ in
      self?.drainSignals()
    }
  }

  private func drainSignals() {
    var byte: UInt8 = 0
    while read(signalPipeRead, &byte, 1) == 1 {
      let signo = Int32(byte)
      if signo == SIGWINCH {
        drainInput()  // get_wch reports KEY_RESIZE
      } else {
        continuation.yield(.signal(signo))
      }
    }
  }

  private func drainInput() {
    guard !isShutDown else { return }
    while true {
      var wc: wint_t = 0
      let rc = wget_wch(window, &wc)
      if rc == KEY_CODE_YES, Int32(bitPattern: UInt32(wc)) == KEY_MOUSE {
        var event = MEVENT()
        if getmouse(&event) == OK,
          let mouse = MouseDecoder.decode(buttonState: event.bstate, x: event.x, y: event.y)
        {
          continuation.yield(.mouse(mouse))
        }
        continue
      }
      guard let key = KeyDecoder.decode(status: rc, code: UInt32(wc)) else { break }
      if key == .resize {
        size = Size(width: Int(getmaxx(window)), height: Int(getmaxy(window)))
        previous = nil
        clearok(tui_curscr(), true)
        continuation.yield(.resize(size))
      } else {
        continuation.yield(.key(key))
      }
    }
  }

  public func invalidate() {
    previous = nil
    clearok(tui_curscr(), true)
  }

  private func colorPair(_ style: Style) -> Int16 {
    guard colorEnabled, style.fg != .default || style.bg != .default else { return 0 }
    let key = UInt16(style.fg.rawValue) << 8 | UInt16(style.bg.rawValue)
    if let p = pairs[key] { return p }
    guard Int32(nextPair) < tui_color_pairs() else { return 0 }
    let pair = nextPair
    nextPair += 1
    init_pair(pair, Self.number(style.fg), Self.number(style.bg))
    pairs[key] = pair
    return pair
  }

  /// The curses colour number (-1: the default colours).
  private static func number(_ c: Color) -> Int16 { c == .default ? -1 : Int16(c.rawValue) - 1 }

  private static func attributes(_ a: Attributes) -> attr_t {
    var r = TUI_A_NORMAL
    if a.contains(.bold) { r |= TUI_A_BOLD }
    if a.contains(.dim) { r |= TUI_A_DIM }
    if a.contains(.underline) { r |= TUI_A_UNDERLINE }
    if a.contains(.reverse) { r |= TUI_A_REVERSE }
    if a.contains(.italic) { r |= TUI_A_ITALIC }
    return r
  }

  public func draw(_ buffer: Buffer) {
    guard !isShutDown else { return }
    let changes = buffer.size == size ? buffer.diff(from: previous) : buffer.diff(from: nil)
    lastFrameChangedCells = changes.count
    var wchars: [wchar_t] = Array(repeating: 0, count: 6)
    var cc = cchar_t()
    for change in changes where !change.cell.isContinuation {
      guard change.x < size.width, change.y < size.height else { continue }
      var n = 0
      for s in change.cell.symbol.unicodeScalars where n < 5 {
        wchars[n] = wchar_t(bitPattern: s.value)
        n += 1
      }
      wchars[n] = 0
      let style = change.cell.style
      _ = setcchar(&cc, wchars, Self.attributes(style.attributes), colorPair(style), nil)
      _ = mvwadd_wch(window, Int32(change.y), Int32(change.x), &cc)
    }
    previous = buffer
    wnoutrefresh(window)
    doupdate()
  }

  public func shutdown() {
    guard !isShutDown else { return }
    isShutDown = true
    TerminalRunLoop.shared.unwatch(fd: 0)
    TerminalRunLoop.shared.unwatch(fd: signalPipeRead)
    endwin()
    restoreArmed = false
    if let t = savedTermios { _ = tcsetattr(0, TCSAFLUSH, t) }
    continuation.finish()
  }
}
