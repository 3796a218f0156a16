import CLinux
import Crypto
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Appends a download to its `.part` and keeps the SHA-256 of everything in the file.
///
/// libcurl hands over at most 16 KiB per callback (CURL_MAX_WRITE_SIZE); one write(2) each cost
/// a third more system time than curl itself, and hashing on the transfer thread made SHA-256
/// half of the profile. So bytes are gathered into 256 KiB blocks; each full block is written
/// on the transfer thread, then hashed on a queue of its own while the next block fills, and
/// its writeback to disk is started there too (sync_file_range), so the fsync before the rename
/// finds little left to write. A writer holds at most `maxBlocks` blocks, taken from one pool
/// for the whole process (allocated once, reused by every download, so a batch of downloads
/// churns no memory); when all of them are still being hashed, `append` refuses the chunk and
/// the transfer pauses until one is free (CURL_WRITEFUNC_PAUSE), instead of blocking
/// libcurl's thread.
///
/// Invariant: once `drain()` returns, `hashed` equals the bytes written to the file, because a
/// block is hashed only after its write succeeded.
///
/// `@unchecked Sendable` is sound: the owner (one transfer at a time) appends and closes; the
/// hasher and its count are touched only on `hashQueue` or after `drain()`; the blocks held
/// are counted in a `Mutex`.
final class HashingFileWriter: @unchecked Sendable {
    static let blockSize = BlockPool.shared.blockSize
    static let maxBlocks = 4

    let hashQueue = DispatchQueue(label: "lumenfall.sha256")  // internal: tests hold it to force back-pressure
    private struct Blocks {
        /// Blocks taken from the shared pool and not yet given back.
        var held = 0
        /// An `append` found no free block and is owed a wake-up.
        var waiting = false
        /// Called (from the hash queue) when a block frees up after an `append` returned false.
        var onBlockFree: (@Sendable () -> Void)?
    }
    private let blocks = Mutex(Blocks())

    func setWaker(_ wake: @escaping @Sendable () -> Void) {
        blocks.withLock { $0.onBlockFree = wake }
    }

    private var current: UnsafeMutableRawBufferPointer?
    private var filled = 0
    private var fd: Int32 = -1
    private var path = ""
    /// Where the next block lands in the file, for its writeback.
    private var fileOffset: Int64 = 0
    // Touched on hashQueue, or by the owner after drain().
    private var hasher = SHA256()
    private var hashedBytes: Int64 = 0

    deinit { try? close() }

    /// Bytes hashed so far, which after drain() is the bytes in the file.
    var hashed: Int64 {
        drain()
        return hashedBytes
    }

    var isOpen: Bool { fd >= 0 }

    func drain() { hashQueue.sync {} }

    /// Forgets the hash: the file is being started over from byte 0.
    func resetHash() {
        drain()
        hasher = SHA256()
        hashedBytes = 0
    }

    /// Hashes an existing prefix of a file: a `.part` left by an earlier run of the tool.
    func hashExisting(_ path: String, upTo size: Int64) throws {
        resetHash()
        let rfd = try AtomicFile.openRegular(path)
        defer { Glibc.close(rfd) }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.blockSize, alignment: 64)
        defer { buf.deallocate() }
        while hashedBytes < size {
            let n = read(rfd, buf.baseAddress, min(Self.blockSize, Int(size - hashedBytes)))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw DownloadError.disk("\(path) shrank while it was being resumed") }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            hashedBytes += Int64(n)
        }
    }

    /// Writes from now on go to `fd`, already positioned at `offset` by the caller; the writer
    /// owns it.
    func attach(fd: Int32, path: String, offset: Int64) throws {
        try close()
        self.fd = fd
        self.path = path
        fileOffset = offset
    }

    /// Called on the transfer thread for every chunk. All or nothing: false, with nothing
    /// consumed, when the chunk needs a block and all `maxBlocks` are still being hashed; the
    /// caller then pauses the transfer (CURL_WRITEFUNC_PAUSE) and `onBlockFree` is called once
    /// a block comes back, so the loop thread never waits here.
    func append(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        let room = current == nil ? 0 : Self.blockSize - filled
        let needed = bytes.count <= room ? 0 : (bytes.count - room + Self.blockSize - 1) / Self.blockSize
        guard var fresh = reserve(needed) else { return false }
        var rest = bytes
        while !rest.isEmpty {
            let block = current ?? fresh.removeLast()
            current = block
            let n = min(rest.count, Self.blockSize - filled)
            // Blocks are allocated non-empty and `rest` is non-empty here: both have addresses.
            guard let dst = block.baseAddress, let src = rest.baseAddress else { break }
            (dst + filled).copyMemory(from: src, byteCount: n)
            filled += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if filled == Self.blockSize { try writeCurrent() }
        }
        for b in fresh { giveBack(b) }  // none left in practice; never leak one
        return true
    }

    /// Writes what is gathered, waits for the hash, closes the file. Bytes received before a
    /// dropped connection or a cancel are kept: they are valid, the next attempt continues
    /// after them.
    func close() throws {
        defer {
            drain()  // first: queued writebacks use the descriptor
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
        if fd >= 0 { try writeCurrent() }
        if let c = current { giveBack(c) }
        current = nil
        filled = 0
    }

    func digestHex() -> String {
        drain()
        return hasher.finalize().hex
    }

    private func writeCurrent() throws {
        guard let block = current, filled > 0 else { return }
        let full = UnsafeRawBufferPointer(rebasing: block[0..<filled])
        current = nil
        filled = 0
        do {
            try AtomicFile.writeAll(fd, full, path: path)
        } catch {
            giveBack(block)
            throw error
        }
        // The block is owned by this hand-off until giveBack: no other thread touches it.
        let handoff = Handoff(block: block, count: full.count)
        let (wfd, at) = (fd, fileOffset)
        fileOffset += Int64(full.count)
        hashQueue.async { [self] in
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: handoff.block[0..<handoff.count]))
            hashedBytes += Int64(handoff.count)
            giveBack(handoff.block)
            // Start writing a full block's pages to disk now (not waiting for them): the fsync
            // at the end then has little left. Not the short last block of an attempt: the
            // fsync covers it, and on a congested disk the call can take a while, which would
            // hold up `close` (it drains this queue before closing `wfd`).
            if handoff.count == Self.blockSize { _ = lf_start_writeback(wfd, at, Int64(handoff.count)) }
        }
    }

    /// A block handed from the loop thread to the hash queue. `@unchecked Sendable` is sound:
    /// the block is the queue's alone until it is given back to the free list.
    private struct Handoff: @unchecked Sendable {
        let block: UnsafeMutableRawBufferPointer
        let count: Int
    }

    /// `count` free blocks, or nil (and a promise to call `onBlockFree`) when this writer
    /// already holds `maxBlocks`: memory stays bounded whatever the file size.
    private func reserve(_ count: Int) -> [UnsafeMutableRawBufferPointer]? {
        guard count > 0 else { return [] }
        let granted = blocks.withLock { b in
            guard b.held + count <= Self.maxBlocks else {
                b.waiting = true
                return false
            }
            b.held += count
            return true
        }
        guard granted else { return nil }
        return (0..<count).map { _ in BlockPool.shared.take() }
    }

    private func giveBack(_ b: UnsafeMutableRawBufferPointer) {
        BlockPool.shared.give(b)
        let wake = blocks.withLock { b in
            b.held -= 1
            defer { b.waiting = false }
            return b.waiting ? b.onBlockFree : nil
        }
        wake?()
    }
}

/// The blocks every download's writer gathers bytes in: allocated on first need, reused ever
/// after, never freed. The process holds at most as many as were ever in use at once (4 per
/// running download), and a batch of 200 downloads asks the allocator for no more than the
/// first 8 did. The free list is a `Mutex`; a block, once taken, is its taker's alone.
final class BlockPool: Sendable {
    static let shared = BlockPool(blockSize: 256 * 1024)

    let blockSize: Int
    /// Addresses, not buffer pointers: a raw address is plain data that may cross threads.
    private let free = Mutex<[UInt]>([])

    init(blockSize: Int) { self.blockSize = blockSize }

    func take() -> UnsafeMutableRawBufferPointer {
        if let address = free.withLock({ $0.popLast() }), let base = UnsafeMutableRawPointer(bitPattern: address) {
            return UnsafeMutableRawBufferPointer(start: base, count: blockSize)
        }
        return UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
    }

    func give(_ b: UnsafeMutableRawBufferPointer) {
        guard let base = b.baseAddress else { return }
        free.withLock { $0.append(UInt(bitPattern: base)) }
    }
}
