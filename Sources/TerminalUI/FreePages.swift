#if canImport(Glibc)
  import Glibc
#endif

/// Gives the heap's free pages back to the system after a bulk load (a whole fleet snapshot is
/// built, applied and dropped at once; glibc keeps the freed pages resident otherwise: about 9 MiB
/// at 1,000 stores, ~90 MiB at 10,000). `malloc_trim` and `mallopt` are looked up at run time
/// because Swift's Glibc module does not export malloc.h; elsewhere this does nothing.
public enum FreePages {
  public static func returnToSystem() {
    #if canImport(Glibc)
      typealias Trim = @convention(c) (Int) -> Int32
      guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
      _ = unsafeBitCast(symbol, to: Trim.self)(0)
    #endif
  }

  /// Settles glibc's allocator for a process that holds a large fleet and rebuilds parts of it at
  /// once (a whole snapshot on every resynchronisation). Call once at start, before the fleet is
  /// loaded. By default glibc raises its mmap threshold to the size of the largest block freed
  /// (up to 32 MiB): after the first snapshot is dropped, every later one (its arrays of 100,000
  /// entries are megabytes each) comes from the heap and leaves its pages there. A fixed
  /// threshold keeps such blocks mapped, so freeing one unmaps it; fewer arenas keep the
  /// cooperative pool's threads from each holding the free pages of their own.
  public static func settleAllocatorForLargeFleets() {
    #if canImport(Glibc)
      typealias SetOption = @convention(c) (Int32, Int32) -> Int32
      guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
      let mallopt = unsafeBitCast(symbol, to: SetOption.self)
      // malloc.h: M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3, M_ARENA_MAX -8.
      _ = mallopt(-3, Int32(mappedBlockBytes))
      _ = mallopt(-1, Int32(trimThresholdBytes))
      _ = mallopt(-8, Int32(arenaLimit))
    #endif
  }

  /// Blocks this large or larger are mapped on their own and unmapped when freed.
  static let mappedBlockBytes = 256 * 1024
  /// Free memory at the top of the heap beyond this is given back at once.
  static let trimThresholdBytes = 1024 * 1024
  /// Arenas for all threads together (glibc's default is eight per core).
  static let arenaLimit = 2
}
