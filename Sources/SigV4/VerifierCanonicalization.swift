package import _SigV4Crypto

/// The verifier's side of canonicalization, on the pieces header signing uses: the header fields
/// read once into scratch (names checked as tokens and lowercased on the way), sorted once, and
/// the canonical request written for a `SignedHeaders` list the request claims, as bytes, into
/// temporary memory where it is hashed.
///
/// The headers are collected once per verification; every (reading, payload hash) the verifier
/// tries writes a canonical request from them. The output is byte for byte what
/// `CanonicalRequestBuilder` writes with `.exactly(names)`.
///
/// ```swift
/// var digest: SHA256Digest?
/// try VerifierCanonicalization.withHeaders(count: n) { sink throws(SigV4Error) in
///     for i in 0..<n { try sink.add(name: names[i], value: values[i]) }
/// } body: { headers throws(SigV4Error) in
///     digest = try headers.canonicalRequest(
///         method: m, target: t, signedHeaders: s, payloadHash: .emptySHA256, rules: .standard, plus: .literal,
///         keepingBytes: false
///     ).hash
/// }
/// ```
package enum VerifierCanonicalization {
    /// Where the fields go: the scratch of the header collection.
    ///
    /// It keeps no count of its own: the scratch counts what it holds, and past its limits
    /// (`overflow`) the collection is refused whatever the count (two sums per field, once kept
    /// here and read nowhere).
    package struct FieldSink {
        fileprivate var headers: CanonicalHeaders
        fileprivate var overflow = false

        /// Adds a field with its name in any case: checks the name is an HTTP token (throws
        /// `invalidHeader` when not) and lowercases it.
        package mutating func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(SigV4Error) {
            if overflow { return }
            switch headers.tryAdd(anyCaseName: name, value: value) {
            case .added: break
            case .noRoom: overflow = true
            case .invalidName:
                throw SigV4Error(
                    .invalidHeader, name.isEmpty ? "empty header name" : "header name is not an HTTP token")
            }
        }

        /// Adds a field whose name is already a lowercase HTTP token (an `HTTPField.Name`'s
        /// `canonicalName`): copied as it is.
        package mutating func add(lowercaseToken name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
            if !overflow && !headers.tryAdd(lowercaseName: name, value: value) { overflow = true }
        }
    }

    /// The collected fields, sorted by name.
    package struct Headers {
        fileprivate var headers: CanonicalHeaders

        /// True when every collected name (lowercase) that starts with `prefix` (at most 8 bytes)
        /// is one of the names of `line` (`a;b;c`, lowercase, strictly ascending). Looks at the names
        /// with that prefix only, by their 8-byte sort keys, and walks both sorted lists once.
        /// False also when `line` is not ascending: a caller then looks at each name itself.
        package func allNames(withPrefix prefix: StaticString, areIn line: UnsafeRawBufferPointer) -> Bool {
            let n = prefix.utf8CodeUnitCount
            precondition(n <= 8, "allNames(withPrefix:) takes a prefix of at most 8 bytes")
            let key = CanonicalHeaders.prefix(prefix.utf8Start, n)
            let mask: UInt64 = n == 0 ? 0 : ~0 << UInt64(64 - 8 * n)
            let s = line.bindMemory(to: UInt8.self)
            var start = 0
            for k in 0..<headers.count {
                let entry = headers.entries[k]
                guard entry.prefix & mask == key else { continue }
                let name = headers.name(entry)
                // The first signed name at or after `start` that is not below this one (the
                // fields are sorted too: a repeated name finds the same one again).
                while true {
                    guard start <= s.count else { return false }
                    let end = ByteSearch.indexInShortRange(of: 0x3b, in: s, start..<s.count)
                    let c = ByteSearch.compare(UnsafeBufferPointer(rebasing: s[start..<end]), name)
                    if c == 0 { break }
                    if c > 0 { return false }
                    start = end + 1
                }
            }
            return true
        }

        /// Writes the canonical request for these fields and the claimed `signedHeaders`
        /// (lowercase names, strictly ascending, joined by `;`) into temporary memory and hashes
        /// it there; with `keepingBytes`, also returns a copy of the bytes.
        ///
        /// `skippingQueryElement`: a query element of `target` (its indices) that the canonical
        /// query leaves out (a presigned URL's `X-Amz-Signature=…`, as the parser found it).
        ///
        /// Refuses (`SigV4Error`) a method that is not a token, a target that does not start with
        /// `/` or holds control bytes or a fragment, and a request too large to canonicalize.
        package func canonicalRequest(
            method: UnsafeRawBufferPointer, target: UnsafeBufferPointer<UInt8>,
            skippingQueryElement skip: Range<Int>? = nil,
            signedHeaders: UnsafeRawBufferPointer, payloadHash: PayloadHash, rules: ServiceRules,
            plus: URIEncoding.PlusPolicy, keepingBytes: Bool
        ) throws(SigV4Error) -> (hash: SHA256Digest, bytes: [UInt8]?) {
            guard !method.isEmpty, method.allSatisfy(CanonicalRequestBuilder.isTokenByte) else {
                throw SigV4Error(.invalidMethod, "the method is not an HTTP token")
            }
            // The scan notes where the query's elements end, for the canonical query (room for
            // 32 elements on the stack; a longer query is searched again).
            return try withUnsafeTemporaryAllocation(of: Int.self, capacity: 64) {
                elements throws(SigV4Error) in
                let scan = TargetScan(target, looking: .ignored, recordingElementsIn: elements)
                try scan.check()
                let payload = payloadHash.value
                // (The skipped element is not written.)
                let bound =
                    scan.requestLinesBound(methodCount: method.count, targetCount: target.count - (skip?.count ?? 0))
                    + 3 * signedHeaders.count + headers.byteCount + headers.count + payload.utf8.count + 16
                guard bound <= 1 << 28 else {
                    throw SigV4Error(.invalidHeader, "the request is too large to canonicalize")
                }
                let headers = self.headers
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { buffer in
                    var out = ByteWriter(buffer)
                    HeaderSigning.appendRequestLines(
                        method: method, target: target, scan: scan, rules: rules, plus: plus,
                        skipping: skip?.lowerBound ?? -1, to: &out)
                    headers.appendExactly(signedHeaders.bindMemory(to: UInt8.self), to: &out)
                    out.append(0x0a)
                    out.append(string: payload)
                    let written = out.written
                    return (SHA256.hash(UnsafeRawBufferPointer(written)), keepingBytes ? Array(written) : nil)
                }
            }
        }
    }

    /// The error ``Headers/canonicalRequest(method:target:signedHeaders:payloadHash:rules:plus:keepingBytes:)``
    /// throws for this method and target, if any: a verifier whose header collection failed asks
    /// this so that, as with `CanonicalRequestBuilder`, a bad method or target is reported before
    /// a bad field.
    package static func requestLineError(method: UnsafeRawBufferPointer, target: UnsafeBufferPointer<UInt8>)
        -> SigV4Error?
    {
        guard !method.isEmpty, method.allSatisfy(CanonicalRequestBuilder.isTokenByte) else {
            return SigV4Error(.invalidMethod, "the method is not an HTTP token")
        }
        do {
            try TargetScan(target, looking: .ignored).check()
        } catch {
            return error
        }
        return nil
    }

    /// Collects the fields `fill` hands over, sorts them and runs `body` with them. The scratch is
    /// sized for `count` fields (``CanonicalHeaders/scratchSize(expecting:)``: on the stack for up
    /// to 24, else sized once from the count, as the signer sizes its own); it grows onto the heap
    /// when more or longer fields come. Throws `invalidHeader` past
    /// ``CanonicalHeaders/maximumCount`` fields or ``CanonicalHeaders/maximumBytes``.
    package static func withHeaders(
        count: Int, fill: (inout FieldSink) throws(SigV4Error) -> Void, body: (Headers) throws(SigV4Error) -> Void
    ) throws(SigV4Error) {
        let size = CanonicalHeaders.scratchSize(expecting: count)
        try CanonicalHeaders.withScratch(byteCount: size.byteCount, count: size.count) {
            scratch throws(SigV4Error) in
            var sink = FieldSink(headers: scratch)
            // The scratch may grow in the sink: hand it back so `withScratch` frees what it grew into.
            defer { scratch = sink.headers }
            try fill(&sink)
            guard !sink.overflow else { throw CanonicalHeaders.tooManyHeaders }
            sink.headers.sort()
            try body(Headers(headers: sink.headers))
        }
    }
}

extension CanonicalHeaders {
    /// HTTP token bytes (RFC 9110 `tchar`) as a 128-bit set: ``CanonicalRequestBuilder/isTokenByte(_:)``.
    static let tokenLow: UInt64 = 0x03FF_6CFA_0000_0000
    static let tokenHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// What ``tryAdd(anyCaseName:value:)`` did.
    enum AddOutcome { case added, noRoom, invalidName }

    /// Adds a field whose name is in any case (lowercased in the scratch), when the scratch has
    /// room; adds nothing when it has not or when the name is not an HTTP token.
    @inline(__always)
    mutating func tryAdd(anyCaseName name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> AddOutcome {
        let n = name.count
        guard n > 0 else { return .invalidName }
        let low = CanonicalHeaders.tokenLow
        let high = CanonicalHeaders.tokenHigh
        var upper = false
        for i in 0..<n {
            let b = name[i]
            guard URIEncoding.isSet(b, low: low, high: high) else { return .invalidName }
            if b >= 0x41 && b <= 0x5a { upper = true }
        }
        guard tryAdd(lowercaseName: name, value: value) else { return .noRoom }
        if upper {
            let k = count - 1
            let start = Int(entries[k].nameStart)
            let base = bytes.baseAddress! + start
            for i in 0..<n where base[i] >= 0x41 && base[i] <= 0x5a { base[i] |= 0x20 }
            entries[k].prefix = CanonicalHeaders.prefix(base, n)
        }
        return .added
    }

    /// Appends the canonical header lines of exactly the names in `signedHeaders` (`a;b;c`,
    /// strictly ascending), a name no field carries as `name:`, then the blank line and the
    /// `SignedHeaders` line. Requires ``sort()``.
    func appendExactly(_ signedHeaders: UnsafeBufferPointer<UInt8>, to out: inout ByteWriter) {
        let s = signedHeaders
        if !s.isEmpty {
            var k = 0
            var previous = 0..<0
            var start = 0
            while start <= s.count {
                let end: Int
                if let next = nextField(named: s, at: start, from: k) {
                    // The usual case: the signed name is the name of field `next.k`, and every
                    // field from `k` to it sorts before it (what the walk below finds, without a
                    // search for the name's end or a compare with the previous name: field `k`'s
                    // name sorts after the previous signed name).
                    k = next.k
                    end = next.end
                    let e = entries[k]
                    let v = value(e)
                    // One field with the name (the next one's first 8 bytes differ) and a value with
                    // nothing to trim: its line in one write, without comparing the name again.
                    if k + 1 == count || entries[k + 1].prefix != e.prefix,
                        CanonicalHeaders.hasNoByteAtOrBelowSpace(v)
                    {
                        CanonicalHeaders.appendLine(name: name(e), value: v, to: &out)
                        previous = start..<end
                        k += 1
                        start = end + 1
                        continue
                    }
                } else {
                    end = ByteSearch.indexInShortRange(of: 0x3b, in: s, start..<s.count)
                    let wanted = UnsafeBufferPointer(rebasing: s[start..<end])
                    // Both lists are sorted by bytes: one merge walk. (Should a list not be ascending,
                    // the walk starts over for that name.)
                    if ByteSearch.compare(UnsafeBufferPointer(rebasing: s[previous]), wanted) >= 0 { k = 0 }
                    while k < count && ByteSearch.compare(name(entries[k]), wanted) < 0 { k += 1 }
                }
                let wanted = UnsafeBufferPointer(rebasing: s[start..<end])
                previous = start..<end
                out.append(wanted)
                out.append(0x3a)
                var first = true
                while k < count && CanonicalHeaders.equal(name(entries[k]), wanted) {
                    if !first { out.append(0x2c) }
                    first = false
                    CanonicalHeaders.appendCanonicalValue(value(entries[k]), to: &out)
                    k += 1
                }
                out.append(0x0a)
                start = end + 1
            }
        }
        out.append(0x0a)
        out.append(s)
    }

    /// When the signed name at `start` of `s` (`a;b;c`) is the name of field `k`, or of a later
    /// field with only fields whose names sort before it from `k` on: that field and the name's
    /// end in `s`. Nil when that is not so, or cannot be told from the name's first 8 bytes (a
    /// field whose name shares them with the signed name and is not it): ``appendExactly(_:to:)``
    /// then searches for the name's end and walks the fields by full compares.
    ///
    /// The signed name's first 8 bytes are read as one big-endian word (the last 8 bytes of `s`
    /// shifted into place near its end: no byte loop); its bytes are those before the first `;`.
    /// A field's 8-byte sort prefix that differs from them in a byte before both names end decides
    /// the order at that byte, as ``ByteSearch/compare(_:_:)`` would.
    @inline(__always)
    func nextField(named s: UnsafeBufferPointer<UInt8>, at start: Int, from k: Int) -> (k: Int, end: Int)? {
        let n = s.count
        guard n >= 8, start < n, let base = s.baseAddress else { return nil }
        let p = UnsafeRawPointer(base)
        let available = n - start
        let w: UInt64
        if available >= 8 {
            w = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: start, as: UInt64.self))
        } else {
            // The word ending at the last byte, the bytes before `start` shifted out (zeros in).
            w =
                UInt64(bigEndian: p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
                << UInt64(8 * (8 - available))
        }
        let semicolons = ByteLanes.equal(w, 0x3b)
        let own = min(semicolons == 0 ? 8 : semicolons.leadingZeroBitCount / 8, available)
        var k = k
        while k < count {
            let e = entries[k]
            let m = Int(e.nameCount)
            let d = e.prefix ^ w
            let i = d == 0 ? 8 : d.leadingZeroBitCount / 8
            if i < own && i < m {
                // Told at byte `i`: a field before the signed name is passed; one after it means no
                // field carries the name.
                guard e.prefix < w else { return nil }
                k += 1
                continue
            }
            // Equal as far as the first word tells: the name itself, compared whole.
            guard m > 0, m <= available, m == available || base[start + m] == 0x3b,
                CanonicalHeaders.equal(name(e), UnsafeBufferPointer(start: base + start, count: m))
            else { return nil }
            return (k, start + m)
        }
        return nil
    }
}
