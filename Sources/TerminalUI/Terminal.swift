/// Something that happened at the terminal.
public enum TerminalEvent: Sendable, Hashable {
  case key(Key)
  /// A mouse button or the wheel (only when the terminal was opened with mouse reporting on).
  case mouse(MouseEvent)
  /// The terminal has a new size (already applied by the backend).
  case resize(Size)
  /// SIGINT (Ctrl-C when the key is not delivered as a character), SIGTERM, SIGHUP, or the pty
  /// closed (reported as SIGHUP).
  case signal(Int32)
}

/// A screen the app can draw on and receive events from. Implementations are confined to the
/// terminal thread.
@TerminalActor
public protocol Terminal: AnyObject {
  /// Current size in cells.
  var size: Size { get }
  /// Shows `buffer`; implementations write only what changed since the previous frame.
  func draw(_ buffer: Buffer)
  /// Forget the previous frame so the next `draw` repaints everything (Ctrl-L).
  func invalidate()
  /// Keys, resizes and signals, in order. Finishes when the terminal is shut down.
  var events: AsyncStream<TerminalEvent> { get }
  /// Restores the terminal (idempotent).
  func shutdown()
}

/// An in-memory terminal for tests: records frames, and lets the test inject events.
@TerminalActor
public final class RecordingTerminal: Terminal {
  public private(set) var size: Size
  public private(set) var frames: [Buffer] = []
  public private(set) var changedCells: [Int] = []
  public let events: AsyncStream<TerminalEvent>
  private let continuation: AsyncStream<TerminalEvent>.Continuation
  private var previous: Buffer?

  public init(size: Size) {
    self.size = size
    (events, continuation) = AsyncStream.makeStream(of: TerminalEvent.self)
  }

  public func draw(_ buffer: Buffer) {
    changedCells.append(buffer.diff(from: previous).count)
    previous = buffer
    frames.append(buffer)
  }

  public func invalidate() { previous = nil }

  public func send(_ event: TerminalEvent) {
    if case .resize(let s) = event { size = s }
    continuation.yield(event)
  }

  public func shutdown() { continuation.finish() }
}
