#if canImport(Glibc)
  import Glibc
#endif

/// Gives the heap's free pages back to the system after a bulk load (a whole fleet snapshot is
/// built, applied and dropped at once; glibc keeps the freed pages resident otherwise: about 9 MiB
/// at 1,000 stores, ~90 MiB at 10,000). `malloc_trim` is looked up at run time because Swift's Glibc
/// module does not export malloc.h; elsewhere this does nothing.
public enum FreePages {
  public static func returnToSystem() {
    #if canImport(Glibc)
      typealias Trim = @convention(c) (Int) -> Int32
      guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
      _ = unsafeBitCast(symbol, to: Trim.self)(0)
    #endif
  }
}
