#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Size of a file in bytes; 0 when it does not exist.
public func fileSize(_ path: String) -> Int64 {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : 0
}
