#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
package import _SigV4Crypto

/// The versioned master keys that wrap the store's data keys.
///
/// The highest version is *current*: new data keys are wrapped under it and
/// ``KeyStore/rewrap(actor:)`` moves every record to it. Older versions stay
/// in the ring only to unwrap records that still use them; drop one only when
/// ``KeyStore/masterKeyUsage()`` says no record does.
///
/// The text form, used by the key file and the environment variable, is one
/// `VERSION:HEX` entry (64 hex digits, 32 bytes) per line or separated by
/// commas; `#` starts a comment. A lone 64-digit hex string is version 1.
///
/// ```swift
/// let ring = try MasterKeyRing.generate()                 // version 1, from RAND_bytes
/// try ring.writeKeyFile(atPath: "/var/lib/sigv4/keys.db.masterkey")
/// let again = try MasterKeyRing.readKeyFile(atPath: "/var/lib/sigv4/keys.db.masterkey")
/// ```
public struct MasterKeyRing: Sendable, CustomStringConvertible {
    package private(set) var keys: [UInt32: SecureBytes]

    /// The environment variable that may hold the master keys: `SIGV4_KEYSTORE_MASTER_KEY`.
    public static let environmentVariable = "SIGV4_KEYSTORE_MASTER_KEY"
    /// The environment variable that may name the key file: `SIGV4_KEYSTORE_MASTER_KEY_FILE`.
    public static let keyFileEnvironmentVariable = "SIGV4_KEYSTORE_MASTER_KEY_FILE"

    package init(keys: [UInt32: SecureBytes]) {
        self.keys = keys
    }

    /// The versions present, ascending.
    public var versions: [UInt32] { keys.keys.sorted() }

    /// The highest version: the one new records are wrapped under.
    public var currentVersion: UInt32 { keys.keys.max() ?? 0 }

    /// True when the ring holds `version`.
    public func contains(version: UInt32) -> Bool { keys[version] != nil }

    package func key(version: UInt32) -> SecureBytes? { keys[version] }

    /// A new ring with one random version-`version` key from `RAND_bytes`.
    public static func generate(version: UInt32 = 1) throws(KeyStoreError) -> MasterKeyRing {
        MasterKeyRing(keys: [version: try randomKey()])
    }

    /// This ring plus a new random key whose version is one above the current one.
    public func addingNewVersion() throws(KeyStoreError) -> MasterKeyRing {
        guard currentVersion < UInt32.max else {
            throw KeyStoreError(
                .malformedMasterKey, "master key version \(currentVersion) is the last one; no version can follow it")
        }
        var copy = self
        copy.keys[currentVersion + 1] = try MasterKeyRing.randomKey()
        return copy
    }

    /// This ring with the versions of `other` that it lacks (a version both hold keeps this ring's key).
    package func merging(_ other: MasterKeyRing) -> MasterKeyRing {
        var copy = self
        copy.keys.merge(other.keys) { mine, _ in mine }
        return copy
    }

    /// This ring without `version`.
    public func removing(version: UInt32) -> MasterKeyRing {
        var copy = self
        copy.keys[version] = nil
        return copy
    }

    static func randomKey() throws(KeyStoreError) -> SecureBytes {
        do {
            return try SecureBytes(count: 32) { buffer in try SecureRandom.fill(buffer) }
        } catch {
            throw KeyStoreError(.crypto, "could not draw a master key from RAND_bytes")
        }
    }

    /// A value that identifies a master key without revealing it: HMAC-SHA256(key, fixed label).
    package static func checkValue(_ key: SecureBytes) -> [UInt8] {
        let digest = key.withUnsafeBytes { k in
            HMACKey(key: k).authenticationCode(for: "sigv4-keystore master key check v1")
        }
        return digest.withUnsafeBytes { Array($0) }
    }

    // MARK: text form

    /// Parses the text form. Throws `malformedMasterKey` without echoing the text.
    public static func parse(_ text: String) throws(KeyStoreError) -> MasterKeyRing {
        var text = text
        return try text.withUTF8 { bytes in Result { () throws(KeyStoreError) in try parse(bytes: bytes) } }.get()
    }

    /// Parses the text form in place: each key's hex goes from `bytes` straight into its zeroizing
    /// storage, with no copy of it (a `String`, a token array) left behind unwiped.
    static func parse(bytes: UnsafeBufferPointer<UInt8>) throws(KeyStoreError) -> MasterKeyRing {
        // Tokens: separated by `,`, spaces, tabs and line ends; a `#` starts a comment to the line's end.
        var tokens: [Range<Int>] = []
        var i = 0
        var start: Int? = nil
        while i <= bytes.count {
            let b: UInt8 = i < bytes.count ? bytes[i] : 0x0a
            if b == 0x23 {  // `#`: skip to the line's end, which ends the token too
                if let s = start { tokens.append(s..<i) }
                start = nil
                while i < bytes.count && bytes[i] != 0x0a && bytes[i] != 0x0d { i += 1 }
                continue
            }
            if b == 0x2c || b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d {
                if let s = start { tokens.append(s..<i) }
                start = nil
            } else if start == nil {
                start = i
            }
            i += 1
        }
        var keys: [UInt32: SecureBytes] = [:]
        for (index, token) in tokens.enumerated() {
            let colon = bytes[token].firstIndex(of: 0x3a)
            let version: UInt32?
            let hex: Range<Int>
            if let colon {
                version = UInt32(String(decoding: bytes[token.lowerBound..<colon], as: UTF8.self))
                hex = (colon + 1)..<token.upperBound
            } else if tokens.count == 1 {
                version = 1  // one bare key: version 1
                hex = token
            } else {
                version = nil
                hex = token
            }
            guard let version, version > 0 else {
                throw KeyStoreError(.malformedMasterKey, "master key entry \(index + 1) is not VERSION:HEX")
            }
            var bad = false
            let key = SecureBytes(count: 32) { out in
                if !Hex.decode(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[hex])), into: out) {
                    bad = true
                    ConstantTime.cleanse(out)
                }
            }
            guard !bad else {
                throw KeyStoreError(
                    .malformedMasterKey, "master key version \(version) must be 64 hex digits (32 bytes)")
            }
            guard keys[version] == nil else {
                throw KeyStoreError(.malformedMasterKey, "master key version \(version) appears twice")
            }
            keys[version] = key
        }
        guard !keys.isEmpty else { throw KeyStoreError(.malformedMasterKey, "no master key in the text") }
        return MasterKeyRing(keys: keys)
    }

    /// Appends the text form (with the secret key bytes) to `out`. Cleanse `out` after use.
    package func appendTextForm(to out: inout [UInt8]) {
        let header = "# sigv4 key store master keys. Keep secret (mode 0600). One VERSION:HEX per line.\n"
        // Sized once: a reallocation while appending would free a copy of key hex without wiping it.
        out.reserveCapacity(out.count + header.utf8.count + keys.count * (10 + 1 + 64 + 1))
        out += Array(header.utf8)
        for version in versions {
            guard let key = keys[version] else { continue }
            out += Array("\(version):".utf8)
            key.withUnsafeBytes { Hex.append($0, to: &out) }
            out.append(UInt8(ascii: "\n"))
        }
    }

    // MARK: key file

    /// Reads a key file. Refuses a file that group or others may read or write (`keyFilePermissions`).
    public static func readKeyFile(atPath path: String) throws(KeyStoreError) -> MasterKeyRing {
        try readKeyFile(atPath: path, requiringOwner: nil)
    }

    /// Reads a key file as ``readKeyFile(atPath:)`` does, and refuses (`invalidArgument`) one that belongs
    /// to a user other than `owner` and root. The owner is the one of the file read, from `fstat` on the
    /// descriptor the key is then read from (a check of the path before opening it could judge another
    /// file than the one read), and a file whose owner cannot be told is not read.
    ///
    /// ```swift
    /// let ring = try MasterKeyRing.readKeyFile(atPath: keyFile, requiringOwner: geteuid())
    /// ```
    package static func readKeyFile(atPath path: String, requiringOwner owner: UInt32?) throws(KeyStoreError)
        -> MasterKeyRing
    {
        // The checks are made on the file opened (`fstat`), not on the path before opening it: between
        // a `stat` and an `open` the name could come to stand for another file. (A symlink to the key
        // file is followed, as secret mounts use them; the file it reaches is the one checked.)
        // Non-blocking: a FIFO (or a device) at the path is refused below instead of waited on forever.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT { throw KeyStoreError(.masterKeyMissing, "no master key file at \(path)") }
            throw KeyStoreError(.masterKeyMissing, "cannot read master key file \(path)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw KeyStoreError(.storage, "cannot read master key file \(path): \(errnoText())")
        }
        if let owner, info.st_uid != owner, info.st_uid != 0 {
            throw KeyStoreError(
                .invalidArgument,
                "the master key file \(path) belongs to another user (uid \(info.st_uid)); it is never used")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw KeyStoreError(.malformedMasterKey, "master key file \(path) is not a regular file")
        }
        if info.st_mode & 0o077 != 0 {
            throw KeyStoreError(
                .keyFilePermissions,
                "master key file \(path) has mode \(String(info.st_mode & 0o777, radix: 8)); "
                    + "it must not be accessible by group or others (chmod 600 \(path))")
        }
        guard info.st_size <= 1 << 20 else {
            throw KeyStoreError(.malformedMasterKey, "master key file \(path) is too large")
        }
        var bytes = try readAll(fd, path: path, sizeHint: Int(info.st_size))
        defer { ConstantTime.cleanse(&bytes) }
        return try bytes.withUnsafeBufferPointer { b in
            Result { () throws(KeyStoreError) in try parse(bytes: b) }
        }.get()
    }

    /// Writes the ring to `path` with mode 0600, atomically (temporary file, fsync, rename, fsync directory).
    /// The temporary file is created new (`O_EXCL`, `O_NOFOLLOW`): a symlink at its name is never followed.
    ///
    /// ```swift
    /// try ring.writeKeyFile(atPath: "/var/lib/sigv4/keys.db.masterkey")
    /// ```
    public func writeKeyFile(atPath path: String) throws(KeyStoreError) {
        _ = try saveKeyFile(atPath: path, replacing: true)
    }

    /// Writes the ring to a new key file at `path` as ``writeKeyFile(atPath:)`` does, but only when nothing is
    /// there yet: returns false, writing nothing, when a file (or link) exists at `path`, even one that
    /// another process made a moment ago. `sigv4 keys init` uses it, so that several inits started at once
    /// end with one key, the first one saved, which all of them then use.
    ///
    /// ```swift
    /// let fresh = try MasterKeyRing.generate()
    /// let ring = try fresh.createKeyFile(atPath: keyFile) ? fresh : try MasterKeyRing.readKeyFile(atPath: keyFile)
    /// ```
    public func createKeyFile(atPath path: String) throws(KeyStoreError) -> Bool {
        try saveKeyFile(atPath: path, replacing: false)
    }

    func saveKeyFile(atPath given: String, replacing: Bool) throws(KeyStoreError) -> Bool {
        // A key file that is a symlink (to a mounted secret, a file kept elsewhere) is replaced where it
        // points, so the link stays: a rename onto the link itself would cut it, and the new version
        // would live only in a file the operator does not know of (the secret would keep the old ring,
        // and every record sealed under the new version would be unreadable once the link came back).
        var path = given
        var info = stat()
        if replacing, lstat(given, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
            guard let resolved = realpath(given, nil) else {
                throw KeyStoreError(.storage, "cannot follow the master key file link \(given): \(errnoText())")
            }
            path = String(cString: resolved)
            free(resolved)
        }
        var text: [UInt8] = []
        appendTextForm(to: &text)
        defer { ConstantTime.cleanse(&text) }
        let temporary = path + ".tmp-\(getpid())"
        MasterKeyRing.removeStaleTemporaries(of: path)
        // The name is predictable: remove whatever is there (a file left by a killed run, or a symlink
        // someone planted) and create a new file, never following a link, so the key cannot be written
        // into another file.
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KeyStoreError(.storage, "cannot create \(temporary): \(errnoText())") }
        var ok = fchmod(fd, 0o600) == 0
        var written = 0
        while ok, written < text.count {
            let n = text.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n > 0 { written += n } else if errno != EINTR { ok = false }
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        // rename(2) replaces what is at `path`; link(2) fails with EEXIST instead, atomically.
        guard ok, (replacing ? rename(temporary, path) : link(temporary, path)) == 0 else {
            let failure = errno
            unlink(temporary)
            if ok, !replacing, failure == EEXIST { return false }
            throw KeyStoreError(.storage, "cannot write master key file \(path): \(String(cString: strerror(failure)))")
        }
        if !replacing { unlink(temporary) }
        MasterKeyRing.fsyncDirectory(of: path)
        return true
    }

    /// Removes the temporary files (`<path>.tmp-<pid>`) that runs killed between writing a key file's
    /// temporary copy and moving it into place left beside `path`: each holds master keys. Only those
    /// older than a minute go (a live writer's lasts milliseconds, and its process may be in another
    /// container sharing the volume, where its pid means nothing here).
    static func removeStaleTemporaries(of path: String, olderThan seconds: Int = 60) {
        let (directory, name) = split(path)
        let prefix = Array((name + ".tmp-").utf8)
        guard let listing = opendir(directory) else { return }
        defer { closedir(listing) }
        let now = time(nil)
        while let entry = readdir(listing) {
            let entryName: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard entryName.count > prefix.count, entryName.starts(with: prefix),
                entryName[prefix.count...].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
            else { continue }
            let candidate = (directory == "/" ? "" : directory) + "/" + String(decoding: entryName, as: UTF8.self)
            var info = stat()
            // lstat: a link is removed as a link, never followed.
            guard lstat(candidate, &info) == 0 else { continue }
            #if canImport(Darwin)
                let modified = info.st_mtimespec.tv_sec
            #else
                let modified = info.st_mtim.tv_sec
            #endif
            if now - modified > seconds { unlink(candidate) }
        }
    }

    /// The directory `path` is in (`.` for a bare name, `/` for a file at the root) and its last component.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// Syncs the directory `path` is in (``split(_:)``), so that `path`'s entry there survives a power
    /// loss; a directory that cannot be opened is left as it is.
    ///
    /// ```swift
    /// MasterKeyRing.fsyncDirectory(of: "/var/lib/sigv4/keys.db.masterkey")   // syncs /var/lib/sigv4
    /// ```
    package static func fsyncDirectory(of path: String) {
        let dfd = open(split(path).directory, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Reads `fd` to its end (at most 1 MiB and a piece). The buffer is sized once from `sizeHint`
    /// (the file's size) so that it is not reallocated: a reallocation would free a copy of the key
    /// bytes without wiping it. Only a file that grew since its size was read can still cause one.
    static func readAll(_ fd: Int32, path: String, sizeHint: Int) throws(KeyStoreError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(max(0, sizeHint) + 4096)
        var chunk = [UInt8](repeating: 0, count: 4096)
        defer { ConstantTime.cleanse(&chunk) }
        while out.count <= 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                out.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                break
            } else if errno != EINTR {
                ConstantTime.cleanse(&out)
                throw KeyStoreError(.storage, "cannot read master key file \(path): \(errnoText())")
            }
        }
        return out
    }

    // MARK: locating

    /// Where the master keys came from.
    public enum Source: Sendable, Hashable, CustomStringConvertible {
        /// The `SIGV4_KEYSTORE_MASTER_KEY` environment variable.
        case environment
        /// A key file at this path.
        case file(String)

        /// A printable form that never holds secret material.
        public var description: String {
            switch self {
            case .environment: "$\(MasterKeyRing.environmentVariable)"
            case .file(let path): path
            }
        }
    }

    /// The default key file for a store: the store path plus `.masterkey`, created by `sigv4 keys init`.
    public static func defaultKeyFilePath(forStoreAt storePath: String) -> String { storePath + ".masterkey" }

    /// Finds the master keys: `$SIGV4_KEYSTORE_MASTER_KEY` if set, else the key file named by `keyFile`,
    /// `$SIGV4_KEYSTORE_MASTER_KEY_FILE`, or the store's default key file, in that order.
    ///
    /// ```swift
    /// let (ring, source) = try MasterKeyRing.locate(forStoreAt: path, environment: ProcessInfo.processInfo.environment)
    /// ```
    public static func locate(forStoreAt storePath: String, keyFile: String? = nil, environment: [String: String])
        throws(KeyStoreError) -> (MasterKeyRing, Source)
    {
        if keyFile == nil, let text = environment[environmentVariable], !text.isEmpty {
            return (try parse(text), .environment)
        }
        let path =
            keyFile ?? environment[keyFileEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
            ?? defaultKeyFilePath(forStoreAt: storePath)
        return (try readKeyFile(atPath: path), .file(path))
    }

    /// A printable form that never holds secret material.
    public var description: String { "MasterKeyRing(versions: \(versions), keys: <redacted>)" }
}

func errnoText() -> String { String(cString: strerror(errno)) }

/// `read(2)`, callable where a type has its own `read` method.
func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
