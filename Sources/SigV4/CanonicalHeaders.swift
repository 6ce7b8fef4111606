import _SigV4Crypto

/// The canonical headers of one request: lowercase names with raw values, stably sorted by
/// name, in scratch memory: on the stack for the usual handful of headers (building them then
/// allocates nothing), on the heap, grown as they are added, for more (``scratchSize(expecting:)``).
///
/// AWS documentation: "Create a canonical request", `CanonicalHeaders` and `SignedHeaders`:
/// lowercase names, values trimmed with inner runs of spaces collapsed, repeated names joined
/// with `,` in their original order, sorted by name.
///
/// ```swift
/// try CanonicalHeaders.withScratch(byteCount: 64, count: 2) { headers in
///     headers.add(lowercaseName: hostName, value: hostValue)
///     headers.sort()
///     headers.select(.signAll)
///     headers.appendCanonicalHeaders(to: &out)
/// }
/// ```
struct CanonicalHeaders {
    /// One header: offsets into ``bytes``.
    struct Entry {
        var nameStart: Int32
        var nameCount: Int32
        var valueStart: Int32
        var valueCount: Int32
        /// Set by ``select(_:)``: ``Entry/startsGroup`` and ``Entry/signed``.
        var flags: UInt8 = 0
        /// The name's first 8 bytes, big-endian, zero-padded: most comparisons end here.
        var prefix: UInt64 = 0

        static let startsGroup: UInt8 = 1
        static let signed: UInt8 = 2
    }

    private(set) var bytes: UnsafeMutableBufferPointer<UInt8>
    private(set) var entries: UnsafeMutableBufferPointer<Entry>
    private(set) var byteCount = 0
    private(set) var count = 0
    /// True when ``bytes`` / ``entries`` are heap memory ``tryAdd(lowercaseName:value:)`` grew
    /// into (freed by ``withScratch(byteCount:count:_:)`` when its body returns). The scratch only
    /// grows while headers are added, before any copy of this value is made.
    private var grownBytes = false
    private var grownEntries = false

    /// The most headers or header bytes a request may carry before signing refuses it.
    static let maximumCount = 10_000
    /// Must stay far below `Int32.max`: ``Entry`` keeps 32-bit offsets into ``bytes``
    /// (`tryAdd(lowercaseName:value:)` truncates without a check).
    static let maximumBytes = 16 << 20

    /// The error for a request past ``maximumCount`` or ``maximumBytes``.
    static var tooManyHeaders: SigV4Error { SigV4Error(.invalidHeader, "too many headers to sign") }

    /// The scratch ``withScratch(byteCount:count:_:)`` starts with for a request expected to carry
    /// `expected` canonical headers; the signer and the verifier size theirs with it.
    ///
    /// Up to 24 headers, the usual case, the stack scratch: 24 entries and 768 name and value bytes.
    /// For more, room for all of them at once, at 48 name and value bytes a header (at most
    /// ``maximumCount`` headers), instead of starting on the stack and growing by doubling while
    /// the fields are read: longer fields still grow it. The signer expects its request's fields
    /// plus the 4 it may add (`host`, `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`),
    /// the verifier the fields it was given.
    ///
    /// ```swift
    /// let size = CanonicalHeaders.scratchSize(expecting: fields.count + 4)
    /// try CanonicalHeaders.withScratch(byteCount: size.byteCount, count: size.count) { headers in ... }
    /// ```
    @inline(__always)
    static func scratchSize(expecting expected: Int) -> (count: Int, byteCount: Int) {
        if expected <= 24 { return (24, 768) }
        let count = min(expected, maximumCount)
        return (count, 48 * count)
    }

    /// Runs `body` with scratch for `count` headers totalling `byteCount` name and value bytes,
    /// on the stack when small.
    @inline(__always)
    static func withScratch<R>(
        byteCount: Int, count: Int, _ body: (inout CanonicalHeaders) throws(SigV4Error) -> R
    ) throws(SigV4Error) -> R {
        guard count <= maximumCount, byteCount <= maximumBytes else { throw tooManyHeaders }
        let result: Result<R, SigV4Error> = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(byteCount, 1)) {
            bytes in
            withUnsafeTemporaryAllocation(of: Entry.self, capacity: max(count, 1)) { entries in
                var headers = CanonicalHeaders(bytes: bytes, entries: entries)
                defer { headers.releaseGrownStorage() }
                do throws(SigV4Error) {
                    return .success(try body(&headers))
                } catch {
                    return .failure(error)
                }
            }
        }
        return try result.get()
    }

    private init(bytes: UnsafeMutableBufferPointer<UInt8>, entries: UnsafeMutableBufferPointer<Entry>) {
        self.bytes = bytes
        self.entries = entries
    }

    /// Adds a header whose name is already lowercase and a valid token.
    mutating func add(lowercaseName name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        precondition(count < entries.count && byteCount + name.count + value.count <= bytes.count)
        let nameStart = byteCount
        copy(name)
        let valueStart = byteCount
        copy(value)
        entries.initializeElement(
            at: count,
            to: Entry(
                nameStart: Int32(nameStart), nameCount: Int32(name.count), valueStart: Int32(valueStart),
                valueCount: Int32(value.count), prefix: CanonicalHeaders.prefix(bytes.baseAddress! + nameStart, name.count)))
        count += 1
    }

    /// The first 8 bytes at `p` (of `n`), big-endian, zero-padded.
    ///
    /// A shorter name (`host`, `accept`, `date`) is read without a byte loop (one was about 20
    /// instructions a name in the verifier's field pass): 4 to 7 bytes as two overlapping 32-bit
    /// words, each shifted to its bytes' places (the overlap ORs equal bytes); 1 to 3 bytes as the
    /// first, middle and last byte, which are bytes 0, 1 and 2 of a 3-byte name and repeat a byte
    /// of a shorter one. Nothing past the `n` bytes is read.
    @inline(__always)
    static func prefix(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        let r = UnsafeRawPointer(p)
        if n >= 8 { return UInt64(bigEndian: r.loadUnaligned(as: UInt64.self)) }
        if n >= 4 {
            let first = UInt64(UInt32(bigEndian: r.loadUnaligned(as: UInt32.self)))
            let last = UInt64(UInt32(bigEndian: r.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)))
            return first << 32 | last << UInt64(truncatingIfNeeded: 64 &- 8 &* n)
        }
        guard n > 0 else { return 0 }
        let middle = n >> 1
        let last = n &- 1
        return UInt64(p[0]) << 56 | UInt64(p[middle]) << UInt64(truncatingIfNeeded: 56 &- 8 &* middle)
            | UInt64(p[last]) << UInt64(truncatingIfNeeded: 56 &- 8 &* last)
    }

    /// ``prefix(_:_:)`` of `name`, read from the caller's bytes rather than from the scratch copy
    /// just written: `copyBytes` stores a name of 9 to 16 bytes as two overlapping words, and a
    /// word load spanning both stores cannot be forwarded from the store buffer (it waits for
    /// them to reach the cache: 7% of `SigningContext.sign`'s own samples, session 51).
    @inline(__always)
    static func prefix(of name: UnsafeRawBufferPointer) -> UInt64 {
        guard let p = name.baseAddress else { return 0 }
        return prefix(p.assumingMemoryBound(to: UInt8.self), name.count)
    }

    /// Adds a header whose name is already lowercase and a valid token, when the scratch has room;
    /// returns false (and adds nothing) when it has not.
    ///
    /// The scratch grows onto the heap when it is full (doubling, up to ``maximumCount`` headers
    /// and ``maximumBytes``), so a request with more headers than the stack scratch holds is still
    /// read once; false only past those limits.
    ///
    /// Its sums wrap (`&+`) rather than trap: each operand is a buffer's count (two of them cannot
    /// overflow an `Int`) or an offset or count below ``maximumBytes`` or ``maximumCount``, so none
    /// overflows, and the checks were a compare and a branch each on every field the verifier's
    /// field pass hands over.
    @inline(__always)
    mutating func tryAdd(lowercaseName name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        let added = name.count &+ value.count
        if _slowPath(count == entries.count || added > bytes.count &- byteCount) {
            guard grow(count: count &+ 1, byteCount: byteCount &+ added) else { return false }
        }
        let base = bytes.baseAddress!
        let nameStart = byteCount
        copyBytes(to: base + nameStart, from: name)
        let valueStart = nameStart &+ name.count
        copyBytes(to: base + valueStart, from: value)
        byteCount = valueStart &+ value.count
        entries.initializeElement(
            at: count,
            to: Entry(
                nameStart: Int32(truncatingIfNeeded: nameStart), nameCount: Int32(truncatingIfNeeded: name.count),
                valueStart: Int32(truncatingIfNeeded: valueStart), valueCount: Int32(truncatingIfNeeded: value.count),
                prefix: CanonicalHeaders.prefix(of: name)))
        count &+= 1
        return true
    }

    /// Moves the scratch to heap memory with room for `needed` headers of `neededBytes` name and
    /// value bytes (at least twice what it had, at most ``maximumCount`` and ``maximumBytes``):
    /// false, with nothing changed, past those limits.
    @inline(never)
    private mutating func grow(count needed: Int, byteCount neededBytes: Int) -> Bool {
        guard needed <= CanonicalHeaders.maximumCount, neededBytes <= CanonicalHeaders.maximumBytes else { return false }
        if needed > entries.count {
            entries = CanonicalHeaders.moved(
                entries, used: count, needed: needed, limit: CanonicalHeaders.maximumCount, owned: grownEntries)
            grownEntries = true
        }
        if neededBytes > bytes.count {
            bytes = CanonicalHeaders.moved(
                bytes, used: byteCount, needed: neededBytes, limit: CanonicalHeaders.maximumBytes, owned: grownBytes)
            grownBytes = true
        }
        return true
    }

    /// `buffer`'s first `used` elements (a trivial type) in new heap memory for `needed` or more
    /// (twice `buffer`'s count when that is more, at most `limit`); `buffer` is freed when `owned`.
    private static func moved<T>(
        _ buffer: UnsafeMutableBufferPointer<T>, used: Int, needed: Int, limit: Int, owned: Bool
    ) -> UnsafeMutableBufferPointer<T> {
        let grown = UnsafeMutableBufferPointer<T>.allocate(capacity: min(max(needed, 2 * buffer.count), limit))
        if used > 0 { grown.baseAddress!.initialize(from: buffer.baseAddress!, count: used) }
        if owned { buffer.deallocate() }
        return grown
    }

    /// Frees the heap memory the scratch grew into, if any.
    private mutating func releaseGrownStorage() {
        if grownEntries { entries.deallocate() }
        if grownBytes { bytes.deallocate() }
        grownEntries = false
        grownBytes = false
    }

    /// Adds a header with a name in any case: validates it as an HTTP token and lowercases it.
    mutating func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(SigV4Error) {
        try CanonicalRequestBuilder.validateName(name)
        let nameStart = byteCount
        add(lowercaseName: name, value: value)
        for i in nameStart..<(nameStart + name.count) where bytes[i] >= 0x41 && bytes[i] <= 0x5a {
            bytes[i] |= 0x20
        }
        entries[count - 1].prefix = CanonicalHeaders.prefix(bytes.baseAddress! + nameStart, name.count)
    }

    private mutating func copy(_ source: UnsafeRawBufferPointer) {
        guard source.count > 0 else { return }
        UnsafeMutableRawPointer(bytes.baseAddress! + byteCount).copyMemory(
            from: source.baseAddress!, byteCount: source.count)
        byteCount += source.count
    }

    func name(_ e: Entry) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: bytes.baseAddress! + Int(e.nameStart), count: Int(e.nameCount))
    }

    func value(_ e: Entry) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: bytes.baseAddress! + Int(e.valueStart), count: Int(e.valueCount))
    }

    /// Byte-wise comparison of two names: <0, 0, >0.
    @inline(__always)
    func compareNames(_ a: Entry, _ b: Entry) -> Int {
        if a.prefix != b.prefix { return a.prefix < b.prefix ? -1 : 1 }
        // Equal prefixes of names of at most 8 bytes: equal names (tokens have no NUL byte).
        if a.nameCount <= 8 && b.nameCount <= 8 { return Int(a.nameCount) - Int(b.nameCount) }
        return compareAfterPrefix(a, b)
    }

    /// ``compareNames(_:_:)`` for names whose first 8 bytes are equal, 8 bytes at a time from
    /// there (many names share a longer start: `x-amz-meta-`, `x-amz-server-side-encryption-`).
    @inline(__always)
    func compareAfterPrefix(_ a: Entry, _ b: Entry) -> Int {
        let x = UnsafeRawPointer(bytes.baseAddress! + Int(a.nameStart))
        let y = UnsafeRawPointer(bytes.baseAddress! + Int(b.nameStart))
        let n = Int(min(a.nameCount, b.nameCount))
        var i = 8
        while i + 8 <= n {
            let u = UInt64(bigEndian: x.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let v = UInt64(bigEndian: y.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if u != v { return u < v ? -1 : 1 }
            i += 8
        }
        while i < n {
            let u = x.load(fromByteOffset: i, as: UInt8.self)
            let v = y.load(fromByteOffset: i, as: UInt8.self)
            if u != v { return Int(u) - Int(v) }
            i += 1
        }
        return Int(a.nameCount) - Int(b.nameCount)
    }

    /// Sorts by name, keeping the original order of equal names: insertion sort for the usual
    /// handful of headers; from 17 to 512, insertion by binary search with one move of the entries
    /// after the place (a request with many `x-amz-meta-*` fields compares each name about log n
    /// times, and only when it is out of order); a merge through the standard library above that.
    mutating func sort() {
        let n = count
        guard n > 1, let base = entries.baseAddress else { return }
        if n <= 16 {
            var i = 1
            while i < n {
                let e = base[i]
                var j = i - 1
                while j >= 0 && compareNames(base[j], e) > 0 {
                    base[j + 1] = base[j]
                    j -= 1
                }
                base[j + 1] = e
                i += 1
            }
        } else if n <= 512 {
            for i in 1..<n {
                let e = base[i]
                // Already in place (most fields of most requests): one comparison.
                if compareNames(base[i - 1], e) <= 0 { continue }
                // The first of base[0..<i-1] whose name sorts after e's (base[i-1]'s does): e goes
                // before it and after every equal name, so equal names keep their order.
                var low = 0
                var high = i - 1
                while low < high {
                    let middle = (low + high) >> 1
                    if compareNames(base[middle], e) > 0 { high = middle } else { low = middle + 1 }
                }
                (base + low + 1).moveInitialize(from: base + low, count: i - low)
                (base + low).initialize(to: e)
            }
        } else {
            // Stable: break ties on the original position, which `nameStart` preserves.
            let headers = self
            var prefix = UnsafeMutableBufferPointer(rebasing: entries[0..<n])
            prefix.sort { a, b in
                let c = headers.compareNames(a, b)
                return c != 0 ? c < 0 : a.nameStart < b.nameStart
            }
        }
    }

    /// Marks where each run of one name starts and whether `filter` signs it. Requires ``sort()``;
    /// needed by the two `append` functions below.
    mutating func select(_ filter: HeaderFilter) {
        var i = 0
        while i < count {
            let first = entries[i]
            let signed = filter.signs(name(first))
            entries[i].flags = Entry.startsGroup | (signed ? Entry.signed : 0)
            var j = i + 1
            while j < count && compareNames(entries[j], first) == 0 {
                entries[j].flags = signed ? Entry.signed : 0
                j += 1
            }
            i = j
        }
    }

    /// Appends the canonical header lines (`name:value\n` each) of the signed names.
    /// Requires ``select(_:)``.
    func appendCanonicalHeaders(to out: inout ByteWriter) {
        var k = 0
        while k < count {
            let e = entries[k]
            if e.flags & Entry.signed != 0 {
                let ends = k + 1 == count || entries[k + 1].flags & Entry.startsGroup != 0
                let v = value(e)
                if e.flags & Entry.startsGroup != 0 && ends && CanonicalHeaders.hasNoByteAtOrBelowSpace(v) {
                    CanonicalHeaders.appendLine(name: name(e), value: v, to: &out)
                } else {
                    if e.flags & Entry.startsGroup != 0 {
                        out.append(name(e))
                        out.append(0x3a)
                    } else {
                        out.append(0x2c)
                    }
                    CanonicalHeaders.appendCanonicalValue(v, to: &out)
                    if ends { out.append(0x0a) }
                }
            }
            k += 1
        }
    }

    /// Appends the usual line, `name:value\n`, with one capacity check: for a name one field
    /// carries, whose value has nothing to trim or collapse (``hasNoByteAtOrBelowSpace(_:)``).
    @inline(__always)
    static func appendLine(
        name n: UnsafeBufferPointer<UInt8>, value v: UnsafeBufferPointer<UInt8>, to out: inout ByteWriter
    ) {
        out.write(upTo: n.count + v.count + 2) { p in
            copyBytes(to: p, from: UnsafeRawBufferPointer(n))
            p[n.count] = 0x3a
            copyBytes(to: p + n.count + 1, from: UnsafeRawBufferPointer(v))
            p[n.count + 1 + v.count] = 0x0a
            return n.count + v.count + 2
        }
    }

    /// Appends a header value trimmed, with inner runs of spaces and tabs collapsed
    /// (``CanonicalRequestBuilder/appendCanonicalValue(_:to:)``), copying a value with no byte at
    /// or below 0x20 (no space, tab, CR or LF: nothing to trim or collapse) in one move.
    @inline(__always)
    static func appendCanonicalValue(_ value: UnsafeBufferPointer<UInt8>, to out: inout ByteWriter) {
        if hasNoByteAtOrBelowSpace(value) {
            out.append(value)
        } else {
            CanonicalRequestBuilder.appendCanonicalValue(value, to: &out)
        }
    }

    /// True when no byte of `bytes` is 0x20 or less, tested eight bytes at a time
    /// (``WordCompare/all(_:_:count:_:)``, the last word overlapping: no byte loop).
    @inline(__always)
    static func hasNoByteAtOrBelowSpace(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let p = bytes.baseAddress else { return true }
        return WordCompare.all(p, p, count: bytes.count) { x, _ in !hasByteAtOrBelowSpace(x) }
    }

    /// True when a byte of `x` is 0x20 or less: such a byte sets its high bit in
    /// (x - 0x21…) & ~x (exact as a whole-word test).
    @inline(__always)
    static func hasByteAtOrBelowSpace(_ x: UInt64) -> Bool {
        (x &- 0x2121_2121_2121_2121) & ~x & 0x8080_8080_8080_8080 != 0
    }

    /// Appends the `SignedHeaders` list (names joined by `;`). Requires ``select(_:)``.
    func appendSignedHeaders(to out: inout ByteWriter) {
        var wrote = false
        for k in 0..<count {
            let e = entries[k]
            if e.flags & (Entry.signed | Entry.startsGroup) == Entry.signed | Entry.startsGroup {
                if wrote { out.append(0x3b) }
                out.append(name(e))
                wrote = true
            }
        }
    }

    /// An upper bound on the bytes ``appendCanonicalHeaders(to:)`` plus
    /// ``appendSignedHeaders(to:)`` write.
    var outputBound: Int { 2 * byteCount + 3 * count + 2 }

    /// True when a header with this lowercase name is present.
    func contains(_ lowercaseName: StaticString) -> Bool {
        let target = UnsafeBufferPointer(start: lowercaseName.utf8Start, count: lowercaseName.utf8CodeUnitCount)
        for k in 0..<count where CanonicalHeaders.equal(name(entries[k]), target) { return true }
        return false
    }

    /// True when `a` and `b` are the same bytes: ``WordCompare/equal(_:_:count:)`` (words, the last
    /// one overlapping, no byte loop).
    @inline(__always)
    static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let x = a.baseAddress, let y = b.baseAddress else { return true }
        return WordCompare.equal(x, y, count: a.count)
    }
}

/// Which lowercase header names are signed: everything but a small exclusion list,
/// precomputed from ``Signer/Options`` so the check is a few byte compares.
struct HeaderFilter: Sendable, Hashable {
    /// Lowercase names not signed (exclusions minus forced names), as bytes, sorted: one interned
    /// list per distinct set, held without a reference count. A filter is copied with every
    /// signature's canonicalization steps (four times per `SigningContext.sign`), and a counted
    /// array in it cost a retain and a release per copy: 8 of a signature's 98 reference-counting
    /// calls, 4% of its time (session 36).
    private var names: Unmanaged<ExcludedNames>
    private var excluded: [[UInt8]] { names._withUnsafeGuaranteedRef { $0.names } }
    /// Bit `n` is set when some excluded name is `n` bytes long (bit 63: 63 bytes or more).
    private var lengths: UInt64
    /// Bit `mix(name)` (0–127) is set for every excluded name: most signed names differ from every
    /// excluded one of their length in this bit and are passed without a byte compare.
    private var mixedLow: UInt64 = 0
    private var mixedHigh: UInt64 = 0

    init(excluding: Set<String>, forcing: Set<String>) {
        let excluded = excluding.subtracting(forcing).map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        names = ExcludedNames.interned(excluded)
        lengths = 0
        for e in excluded {
            lengths |= 1 << UInt64(min(e.count, 63))
            e.withUnsafeBufferPointer { b in
                let m = HeaderFilter.mix(b)
                if m < 64 { mixedLow |= 1 << UInt64(m) } else { mixedHigh |= 1 << UInt64(m - 64) }
            }
        }
    }

    /// Length, first and last byte mixed into 0–127.
    @inline(__always)
    static func mix(_ name: UnsafeBufferPointer<UInt8>) -> Int {
        guard let first = name.first, let last = name.last else { return 0 }
        return (name.count &* 7 &+ Int(first) &* 3 &+ Int(last)) & 127
    }

    /// Signs every header.
    static let signAll = HeaderFilter(excluding: [], forcing: [])
    /// ``CanonicalRequest/defaultUnsignedHeaders``.
    static let `default` = HeaderFilter(excluding: CanonicalRequest.defaultUnsignedHeaders, forcing: [])

    /// Equal sets share one interned list.
    static func == (a: HeaderFilter, b: HeaderFilter) -> Bool { a.names.toOpaque() == b.names.toOpaque() }
    func hash(into h: inout Hasher) { h.combine(names.toOpaque()) }

    func signs(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        if lengths & (1 << UInt64(min(name.count, 63))) == 0 { return true }
        let m = HeaderFilter.mix(name)
        if (m < 64 ? mixedLow >> UInt64(m) : mixedHigh >> UInt64(m - 64)) & 1 == 0 { return true }
        for e in excluded where e.count == name.count {
            if e.withUnsafeBufferPointer({ CanonicalHeaders.equal($0, name) }) { return false }
        }
        return true
    }
}

/// A sorted list of excluded header names, kept once per distinct list for the life of the
/// process (like type metadata), so a ``HeaderFilter`` can refer to it without counting
/// references. Lists come from signer options that code sets (``CanonicalRequest/defaultUnsignedHeaders``
/// and a program's own few), never from a request.
///
/// ```swift
/// let a = ExcludedNames.interned([Array("user-agent".utf8)])
/// let b = ExcludedNames.interned([Array("user-agent".utf8)])
/// assert(a.toOpaque() == b.toOpaque())
/// ```
final class ExcludedNames: Sendable {
    let names: [[UInt8]]

    private init(_ names: [[UInt8]]) { self.names = names }

    /// Every list interned so far (strong references: an entry is never freed).
    private static let table = Locked<[[[UInt8]]: ExcludedNames]>([:])

    /// The one object holding `names` (sorted), made on first use.
    static func interned(_ names: [[UInt8]]) -> Unmanaged<ExcludedNames> {
        table.withLock { table in
            if let known = table[names] { return .passUnretained(known) }
            let made = ExcludedNames(names)
            table[names] = made
            return .passUnretained(made)
        }
    }
}

/// Runs `body` on the UTF-8 bytes of `string`, borrowed where they are (``Swift/String/withBorrowedUTF8(_:)``:
/// no copy of the string and no retain of its storage), as raw bytes.
@inline(__always)
package func withUTF8Bytes<R, E: Error>(_ string: String, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try string.withBorrowedUTF8 { bytes throws(E) in try body(UnsafeRawBufferPointer(bytes)) }
}

/// Copies `source` to `destination` (not overlapping): copies of up to 32 bytes, the usual header
/// names, values and separators, hosts and paths, with a few word moves instead of a call to `memmove`.
@inline(__always)
func copyBytes(to destination: UnsafeMutablePointer<UInt8>, from source: UnsafeRawBufferPointer) {
    let n = source.count
    let d = UnsafeMutableRawPointer(destination)
    guard n > 0, let s = source.baseAddress else { return }
    if n >= 8 && n <= 16 {
        d.storeBytes(of: s.loadUnaligned(as: UInt64.self), as: UInt64.self)
        (d + n - 8).storeBytes(of: (s + n - 8).loadUnaligned(as: UInt64.self), as: UInt64.self)
    } else if n >= 4 && n < 8 {
        d.storeBytes(of: s.loadUnaligned(as: UInt32.self), as: UInt32.self)
        (d + n - 4).storeBytes(of: (s + n - 4).loadUnaligned(as: UInt32.self), as: UInt32.self)
    } else if n < 4 {
        destination[0] = s.load(as: UInt8.self)
        if n > 1 { destination[1] = s.load(fromByteOffset: 1, as: UInt8.self) }
        if n > 2 { destination[2] = s.load(fromByteOffset: 2, as: UInt8.self) }
    } else if n <= 32 {
        // 17 to 32 bytes (a host, a path, the signed names): the first and the last 16, overlapping.
        let a = s.loadUnaligned(as: UInt64.self)
        let b = s.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let c = s.loadUnaligned(fromByteOffset: n - 16, as: UInt64.self)
        let e = s.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        d.storeBytes(of: a, as: UInt64.self)
        d.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
        d.storeBytes(of: c, toByteOffset: n - 16, as: UInt64.self)
        d.storeBytes(of: e, toByteOffset: n - 8, as: UInt64.self)
    } else {
        d.copyMemory(from: s, byteCount: n)
    }
}

/// `memcmp` without importing libc: byte-wise, returns the difference of the first unequal pair.
@inline(__always)
func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Int {
    var i = 0
    // Eight bytes at a time while equal.
    while i + 8 <= n {
        let x = UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self)
        let y = UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self)
        if x != y { break }
        i += 8
    }
    while i < n {
        let x = a[i]
        let y = b[i]
        if x != y { return Int(x) - Int(y) }
        i += 1
    }
    return 0
}

/// Appends bytes to memory sized in advance: the canonicalization hot path writes through this
/// instead of growing arrays. Every write is bounds-checked against the capacity.
struct ByteWriter {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    /// The bytes written so far.
    var written: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    @inline(__always)
    mutating func append(_ b: UInt8) {
        precondition(count < capacity, "ByteWriter overflow")
        base[count] = b
        count += 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        let n = bytes.count
        guard n > 0 else { return }
        precondition(n <= capacity - count, "ByteWriter overflow")
        copyBytes(to: base + count, from: UnsafeRawBufferPointer(bytes))
        count += n
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        append(bytes.bindMemory(to: UInt8.self))
    }

    mutating func append(_ s: StaticString) {
        append(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func append(string: String) {
        withUTF8Bytes(string) { append($0) }
    }

    /// Reserves `n` bytes and lets `body` fill them; `body` returns how many it wrote.
    @inline(__always)
    mutating func write(upTo n: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        precondition(n <= capacity - count, "ByteWriter overflow")
        let wrote = body(base + count)
        precondition(wrote <= n)
        count += wrote
    }

    /// Runs `body` with at least `capacity` bytes of scratch memory on the stack up to 2 KiB:
    /// `withUnsafeTemporaryAllocation` (uninitialized stack memory) up to 1 KiB, where it moves to
    /// the heap; a zeroed 2 KiB stack buffer from there to 2 KiB; temporary memory above.
    @inline(__always)
    static func withScratch<R, E: Error>(
        capacity: Int, _ body: (UnsafeMutableBufferPointer<UInt8>) throws(E) -> R
    ) throws(E) -> R {
        if capacity > 1024 && capacity <= MemoryLayout<StackScratch>.size {
            var storage = StackScratch()
            return try withUnsafeMutableBytes(of: &storage) { raw throws(E) -> R in
                try body(raw.bindMemory(to: UInt8.self))
            }
        }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer throws(E) -> R in
            try body(buffer)
        }
    }

    /// 2 KiB of stack memory for ``withScratch(capacity:_:)``.
    struct StackScratch {
        var a = (SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(),
                 SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(),
                 SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>())
        var b = (SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(),
                 SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(),
                 SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>())
    }

    /// Runs `body` with a writer over `capacity` fresh bytes and returns what it wrote as an array.
    static func makeArray(
        capacity: Int, _ body: (inout ByteWriter) throws(SigV4Error) -> Void
    ) throws(SigV4Error) -> [UInt8] {
        var failure: SigV4Error?
        let array = [UInt8](unsafeUninitializedCapacity: max(capacity, 1)) { buffer, initialized in
            var w = ByteWriter(buffer)
            do throws(SigV4Error) {
                try body(&w)
            } catch {
                failure = error
            }
            initialized = w.count
        }
        if let failure { throw failure }
        return array
    }
}
