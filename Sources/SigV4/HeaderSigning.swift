import HTTPTypes
import _SigV4Crypto

/// The header-mode canonicalization shared by ``Signer/sign(_:payload:at:)``,
/// ``SigningContext/sign(_:payload:at:)`` and the rebuild of a ``SignedRequest``'s canonical
/// request: the request target scanned once, the header fields read once into scratch, and the
/// canonical request written into memory the caller provides.
///
/// AWS documentation: "Create a canonical request" (header form). The request's own
/// `X-Amz-Date` and `X-Amz-Security-Token` fields are replaced by the signer's.
///
/// ```swift
/// let steps = HeaderSigning(signer: signer)
/// let scan = TargetScan(targetBytes, looking: .signature)
/// let facts = try steps.collectHeaders(request, fields: request.headerFields, payload: payload, dateText: dateText, targetIsSigned: false, into: &headers)
/// let range = steps.writeCanonicalRequest(method: m, target: t, scan: scan, headers: headers, payload: payload, to: &w)
/// ```
struct HeaderSigning: Sendable {
    var rules: ServiceRules
    var filter: HeaderFilter
    var plus: URIEncoding.PlusPolicy

    // No reference-counted member: the steps are copied several times per signature where the
    // compiler builds closure contexts, and a copy of plain values counts no references (the
    // session token, which the rules may sign, is an argument instead: `signedToken(of:)`).
    init(signer: borrowing Signer) {
        rules = signer.rules
        filter = signer.options.filter
        plus = signer.options.plusPolicy
    }

    /// The session token of `credentials` when these rules sign it as a header (as
    /// `X-Amz-Security-Token`, or S3 Express's `x-amz-s3session-token`), else nil.
    func signedToken(of credentials: borrowing Credentials) -> String? {
        rules.sessionTokenPlacement == .appendedAfterSigning ? nil : credentials.sessionToken
    }

    /// What the header pass found besides the canonical headers.
    struct FieldFacts {
        var hasHost = false
        var hasAmzDate = false
        var hasSecurityToken = false
        /// A caller's `x-amz-s3session-token`, left out under S3 Express rules (the signer sets its own).
        var hasS3SessionToken = false
        var hasContentSHA256 = false
        /// Set when the headers did not fit: more than ``CanonicalHeaders/maximumCount`` or
        /// ``CanonicalHeaders/maximumBytes`` (the scratch grows onto the heap up to those).
        var overflow = false
    }

    /// Reads every header field once into `headers` (names are `HTTPField.Name.canonicalName`:
    /// lowercase tokens already). With `replacingSignerFields`, refuses `Authorization` and leaves
    /// out `X-Amz-Date` and `X-Amz-Security-Token` (the signer sets its own), and with
    /// `s3SessionToken` (S3 Express rules) `x-amz-s3session-token` too.
    @inline(__always)
    static func addFields(
        _ fields: HTTPFields, replacingSignerFields: Bool, s3SessionToken: Bool, to headers: inout CanonicalHeaders
    ) throws(SigV4Error) -> FieldFacts {
        var facts = FieldFacts()
        var refused = false
        for i in fields.indices {
            let field = fields[i]
            withUTF8Bytes(field.name.canonicalName) { n in
                switch n.count {
                case 4:
                    if ByteSearch.equals(n, "host") { facts.hasHost = true }
                case 10:
                    if replacingSignerFields && ByteSearch.equals(n, "x-amz-date") {
                        facts.hasAmzDate = true
                        return
                    }
                case 13:
                    if replacingSignerFields && ByteSearch.equals(n, "authorization") { refused = true }
                case 20:
                    if ByteSearch.equals(n, "x-amz-content-sha256") {
                        facts.hasContentSHA256 = true
                    } else if replacingSignerFields && ByteSearch.equals(n, "x-amz-security-token") {
                        facts.hasSecurityToken = true
                        return
                    }
                case 21:
                    if replacingSignerFields && s3SessionToken && ByteSearch.equals(n, "x-amz-s3session-token") {
                        facts.hasS3SessionToken = true
                        return
                    }
                default:
                    break
                }
                field.withUnsafeBytesOfValue { v in
                    if !facts.overflow && !headers.tryAdd(lowercaseName: n, value: UnsafeRawBufferPointer(v)) {
                        facts.overflow = true
                    }
                }
            }
            if refused {
                throw SigV4Error(.alreadySigned, "the request already has an Authorization header")
            }
        }
        return facts
    }

    /// Fills `headers` with the canonical headers of `request` signed at `dateText` (nil: the
    /// fields as they are), sorted and selected, unless `overflow` comes back set (more headers
    /// or header bytes than ``CanonicalHeaders/maximumCount`` / ``CanonicalHeaders/maximumBytes``).
    /// `signedToken` (``signedToken(of:)``) is added as `X-Amz-Security-Token` (S3 Express:
    /// `x-amz-s3session-token`) with `dateText` only.
    ///
    /// Checks, in this order: an `Authorization` field, a conflicting `X-Amz-Content-SHA256`,
    /// signing parameters already in the target (`targetIsSigned`), a missing host.
    @inline(__always)
    func collectHeaders(
        _ request: HTTPRequest, fields: HTTPFields, payload: PayloadHash, dateText: AmzDateText?, token signedToken: String?,
        targetIsSigned: Bool, into headers: inout CanonicalHeaders
    ) throws(SigV4Error) -> FieldFacts {
        let replacing = dateText != nil
        var facts = try HeaderSigning.addFields(
            fields, replacingSignerFields: replacing, s3SessionToken: rules.sessionTokenPlacement == .s3SessionToken,
            to: &headers)
        if facts.hasContentSHA256 && replacing {
            guard fields[Signer.contentSHA256Name] == payload.value else {
                throw SigV4Error(.payloadHashConflict, "x-amz-content-sha256 disagrees with the payload hash")
            }
        }
        if targetIsSigned {
            throw SigV4Error(.alreadySigned, "the request target already carries X-Amz-Signature or X-Amz-Credential")
        }
        if !facts.hasHost {
            guard let authority = request.authority, !authority.isEmpty else {
                throw SigV4Error(.missingHost, "the request has neither an authority nor a Host header")
            }
            add(Signer.lit("host"), authority, &facts, &headers)
        }
        if let dateText {
            if !facts.overflow {
                dateText.withUnsafeBytes {
                    if !headers.tryAdd(lowercaseName: Signer.lit("x-amz-date"), value: $0) { facts.overflow = true }
                }
            }
            if let signedToken {
                add(Signer.lit(rules.sessionTokenPlacement.headerName), signedToken, &facts, &headers)
            }
            if !facts.hasContentSHA256 && rules.sendContentSHA256 {
                add(Signer.lit("x-amz-content-sha256"), payload.value, &facts, &headers)
            }
        }
        if facts.overflow { return facts }
        headers.sort()
        headers.select(filter)
        return facts
    }

    private func add(
        _ name: UnsafeRawBufferPointer, _ value: String, _ facts: inout FieldFacts, _ headers: inout CanonicalHeaders
    ) {
        withUTF8Bytes(value) { v in
            if !facts.overflow && !headers.tryAdd(lowercaseName: name, value: v) { facts.overflow = true }
        }
    }

    /// Everything the canonical request is written from: the method and target bytes, the
    /// target's scan, the collected headers.
    struct Parts {
        var rules: ServiceRules
        var plus: URIEncoding.PlusPolicy
        var method: UnsafeRawBufferPointer
        var target: UnsafeBufferPointer<UInt8>
        var scan: TargetScan
        var headers: CanonicalHeaders
        var facts: FieldFacts
        var payload: PayloadHash

        /// An upper bound on the canonical request's length.
        var bound: Int {
            method.count + 3 * target.count + CanonicalRequestBuilder.queryBound(target.count, extra: []) + 4
                + headers.outputBound + payload.value.utf8.count + 8
        }

        /// Writes the canonical request (at most ``bound`` bytes) and returns the range of its
        /// `SignedHeaders` line.
        func write(to out: inout ByteWriter) -> Range<Int> {
            HeaderSigning.appendRequestLines(
                method: method, target: target, scan: scan, rules: rules, plus: plus, to: &out)
            headers.appendCanonicalHeaders(to: &out)
            out.append(0x0a)
            let start = out.count
            headers.appendSignedHeaders(to: &out)
            let end = out.count
            out.append(0x0a)
            out.append(string: payload.value)
            return start..<end
        }
    }

    /// Collects `request`'s canonical headers
    /// (see ``collectHeaders(_:fields:payload:dateText:token:targetIsSigned:into:)``) and runs `body`
    /// with them: in stack scratch for the usual handful of fields; else in scratch sized from their
    /// number (``CanonicalHeaders/scratchSize(expecting:)``).
    @inline(__always)
    func withHeaders<R>(
        _ request: HTTPRequest, fields: HTTPFields, payload: PayloadHash, dateText: AmzDateText?, token: String?,
        targetIsSigned: Bool,
        _ body: (CanonicalHeaders, FieldFacts) throws(SigV4Error) -> R
    ) throws(SigV4Error) -> R {
        // Stack scratch for the usual handful of headers (up to 20 fields and the 4 the signer may
        // add); for more, scratch sized from the field count (CanonicalHeaders.scratchSize), which
        // grows if the fields are longer. The fields are read once whatever their number; overflow
        // means past the limits.
        let size = CanonicalHeaders.scratchSize(expecting: fields.count + 4)
        return try CanonicalHeaders.withScratch(byteCount: size.byteCount, count: size.count) {
            headers throws(SigV4Error) -> R in
            let facts = try collectHeaders(
                request, fields: fields, payload: payload, dateText: dateText, token: token,
                targetIsSigned: targetIsSigned, into: &headers)
            guard !facts.overflow else { throw CanonicalHeaders.tooManyHeaders }
            return try body(headers, facts)
        }
    }

    /// Scans `request`'s target once, collects its canonical headers, checks everything, and runs
    /// `body` with the parts the canonical request is written from. `dateText` nil canonicalizes
    /// the fields as they are (a request the signer already signed).
    @inline(__always)
    func withParts<R>(
        _ request: HTTPRequest, payload: PayloadHash, dateText: AmzDateText?, token: String?,
        _ body: (borrowing Parts) throws(SigV4Error) -> R
    ) throws(SigV4Error) -> R {
        let fields = request.headerFields
        let target = request.path ?? "/"
        let method = request.method.rawValue
        return try withUTF8Bytes(target) { t throws(SigV4Error) -> R in
            try withUTF8Bytes(method) { m throws(SigV4Error) -> R in
                let t = t.bindMemory(to: UInt8.self)
                let scan = TargetScan(t, looking: .signature)
                return try withHeaders(
                    request, fields: fields, payload: payload, dateText: dateText, token: token,
                    targetIsSigned: scan.hasSigningParameter
                ) { headers, facts throws(SigV4Error) -> R in
                    try scan.check()
                    return try body(
                        Parts(
                            rules: rules, plus: plus, method: m, target: t, scan: scan, headers: headers, facts: facts,
                            payload: payload))
                }
            }
        }
    }

    /// Appends the first three lines (method, canonical URI, canonical query), each ending in
    /// `\n`, from a target already scanned. `extra`: parameters merged into the canonical query
    /// as they are (`name=value&…`, already in canonical encoding: presigning's `X-Amz-*`).
    /// `skipping`: the index in `target` where a query element starts that is left out (a
    /// presigned URL's `X-Amz-Signature=…`, which the verifier reads in place), or -1.
    static func appendRequestLines(
        method: UnsafeRawBufferPointer, target: UnsafeBufferPointer<UInt8>, scan: TargetScan, rules: ServiceRules,
        plus: URIEncoding.PlusPolicy, extra: UnsafeBufferPointer<UInt8> = UnsafeBufferPointer(start: nil, count: 0),
        skipping: Int = -1, to out: inout ByteWriter
    ) {
        out.append(method)
        out.append(0x0a)
        CanonicalRequestBuilder.appendCanonicalURI(
            UnsafeBufferPointer(rebasing: target[0..<scan.queryStart]), rules: rules,
            known: (scan.pathIsPlain, scan.needsNormalization), to: &out)
        out.append(0x0a)
        let queryStart = min(scan.queryStart + 1, target.count)
        let query = UnsafeBufferPointer(rebasing: target[queryStart...])
        if !extra.isEmpty || skipping >= 0 || (!query.isEmpty && scan.hasQuerySeparator) {
            CanonicalRequestBuilder.appendCanonicalQuery(
                query, encodedExtra: extra, plus: plus, alreadyCanonical: scan.queryIsPlain,
                skipping: skipping >= 0 ? skipping - queryStart : -1, elements: scan.queryElements, to: &out)
        } else if !query.isEmpty {
            if scan.queryIsPlain {
                // One parameter with nothing to encode: itself, plus `=` when it has no value.
                out.append(query)
                if query.firstIndex(of: 0x3d) == nil { out.append(0x3d) }
            } else {
                // One parameter: nothing to sort. `name=value` encoded, `name` alone becomes `name=`.
                let equals = query.firstIndex(of: 0x3d) ?? query.count
                let name = UnsafeBufferPointer(rebasing: query[0..<equals])
                out.write(upTo: 3 * name.count) {
                    URIEncoding.encode(name, into: $0, keepSlash: false, keepEscapes: true, plus: plus)
                }
                out.append(0x3d)
                if equals < query.count {
                    let value = UnsafeBufferPointer(rebasing: query[(equals + 1)...])
                    out.write(upTo: 3 * value.count) {
                        URIEncoding.encode(value, into: $0, keepSlash: false, keepEscapes: true, plus: plus)
                    }
                }
            }
        }
        out.append(0x0a)
    }
}

/// One pass over a request target as sent: where the query starts, whether the path has a
/// segment that normalization changes (empty, `.` or `..`), whether the query already carries
/// signing parameters, and whether the bytes are acceptable (a leading `/`, no control bytes,
/// no fragment).
///
/// ```swift
/// let scan = TargetScan(bytes, looking: .signature)
/// if scan.hasSigningParameter { /* refuse */ }
/// try scan.check()
/// ```
struct TargetScan {
    /// The index of the first `?`, or the target's length.
    var queryStart: Int
    var needsNormalization = false
    var hasSigningParameter = false
    /// True when the query has an `&` (more than one parameter, or empty ones).
    var hasQuerySeparator = false
    /// True when every path byte is unreserved or `/`: the canonical URI is the path as it is
    /// (unless normalization applies).
    var pathIsPlain = true
    /// True when every query byte is unreserved or part of a well-formed `%XX` escape, but for at
    /// most one `=` per parameter: each parameter's canonical form (escapes kept as they are) is
    /// its text as it is.
    var queryIsPlain = true
    /// How many bytes canonicalizing a query with several parameters can add at most: 2 for each
    /// byte that may be escaped (`x` → `%XX`), 1 for each `&` (a parameter without a value gains
    /// `=`). See ``requestLinesBound(methodCount:targetCount:)``.
    var queryGrowth = 0
    /// 0: acceptable; 1: no leading `/`; 2: a control byte; 3: a fragment. The first problem found.
    private var problem: UInt8 = 0
    /// Where the scan writes the bounds of the query's `&`-separated elements (see
    /// ``queryElements``), when the caller gave room; nil otherwise.
    private var bounds: UnsafeMutablePointer<Int>?
    /// How many elements `bounds` has room for.
    private var boundsCapacity = 0
    /// How many elements the scan wrote to `bounds`; -1 when they did not fit.
    private var recordedElements = 0

    /// Which parameter names ``hasSigningParameter`` reports.
    enum SigningParameters {
        /// None (``hasSigningParameter`` stays false): for a caller that does not ask, as the
        /// verifier, whose parser reads the query's signing parameters itself.
        case ignored
        /// `X-Amz-Signature` and `X-Amz-Credential`: header signing's check for a target already signed.
        case signature
        /// Every `X-Amz-*` parameter presigning writes.
        case presign
    }

    /// Scans `t`. `elements`: room where the scan writes the bounds of the query's elements as
    /// it passes their `&` and `=` (two `Int`s an element, ``queryElements``), or nil.
    init(
        _ t: UnsafeBufferPointer<UInt8>, looking: SigningParameters,
        recordingElementsIn elements: UnsafeMutableBufferPointer<Int>? = nil
    ) {
        let n = t.count
        queryStart = n
        if let elements {
            bounds = elements.baseAddress
            boundsCapacity = elements.count / 2
        }
        guard n > 0, t[0] == 0x2f else {
            problem = 1
            needsNormalization = true
            // Still look for signing parameters: they are reported first.
            if let q = t.firstIndex(of: 0x3f) {
                queryStart = q
                scanQuery(t, from: q + 1, looking: looking)
            }
            return
        }
        var i = 1
        var segmentStart = 1
        // Most paths are runs of unreserved bytes and `/` in which no segment starts with `/` or `.`
        // (so none is empty, `.` or `..`): 16 such bytes (one SSE2 step, `lanes.h`) change nothing
        // here but where the last segment starts. The loop below takes over at the first other step,
        // and at the last bytes (fewer than 16).
        if let base = t.baseAddress {
            // Bit 0 set: the next step's first byte follows a `/` (first, t[0]).
            var slashBefore: UInt32 = 1
            while i &+ 16 <= n {
                let p = base + i
                let slash = ByteLanes.equal16(p, 0x2f)
                if ByteLanes.notUnreserved16(p) & ~slash != 0 { break }
                let followsSlash = slash << 1 | slashBefore
                if (slash | ByteLanes.equal16(p, 0x2e)) & followsSlash != 0 { break }
                if slash != 0 { segmentStart = i &+ 32 &- slash.leadingZeroBitCount }
                slashBefore = slash >> 15
                i &+= 16
            }
        }
        while i < n {
            // Unreserved bytes (most of a path) change nothing here: skip their run, 16 at a time.
            i = URIEncoding.unreservedRunEnd(t, from: i)
            guard i < n else { break }
            let b = t[i]
            // One test for the bytes that need a look: `/`, `?`, `#`, control bytes and DEL.
            if !URIEncoding.isSet(b, low: TargetScan.pathSpecialLow, high: TargetScan.pathSpecialHigh) {
                pathIsPlain = false
                i += 1
                continue
            }
            if b == 0x2f || b == 0x3f {
                let len = i - segmentStart
                if len == 0 && b == 0x2f {
                    needsNormalization = true
                } else if len == 1 && t[segmentStart] == 0x2e {
                    needsNormalization = true
                } else if len == 2 && t[segmentStart] == 0x2e && t[segmentStart + 1] == 0x2e {
                    needsNormalization = true
                }
                if b == 0x3f {
                    queryStart = i
                    scanQuery(t, from: i + 1, looking: looking)
                    return
                }
                segmentStart = i + 1
            } else {
                pathIsPlain = false
                if b < 0x20 || b == 0x7f || b == 0x23 { note(b) }
            }
            i += 1
        }
        // The last segment (a trailing `/` leaves an empty one, which is fine).
        let len = n - segmentStart
        if len == 1 && t[segmentStart] == 0x2e {
            needsNormalization = true
        } else if len == 2 && t[segmentStart] == 0x2e && t[segmentStart + 1] == 0x2e {
            needsNormalization = true
        }
    }

    /// Control bytes, `#` (0x23), `/` (0x2f), `?` (0x3f) and DEL (0x7f): the path bytes the scan stops at.
    static let pathSpecialLow: UInt64 = 0xFFFF_FFFF | (1 << 0x23) | (1 << 0x2f) | (1 << 0x3f)
    static let pathSpecialHigh: UInt64 = 1 << (0x7f - 64)

    private mutating func note(_ b: UInt8) {
        if problem == 0 { problem = b == 0x23 ? 3 : 2 }
    }

    /// Checks the bytes from `start` on (the query) and finds signing parameters among its names.
    ///
    /// Only the bytes that are not unreserved need a look (`&`, `=`, `%`, anything to escape), and
    /// they are few: each 16 bytes of the query are classified at once (SSE2, `lanes.h`), and the
    /// bytes their mask marks are taken in order (the target's last 16 bytes, read when fewer are
    /// left, overlap the step before: their bytes seen already are cleared; a target of fewer than
    /// 16 bytes is taken byte by byte). A well-formed escape's two hex digits are unreserved, so its
    /// `%` is all there is to look at.
    private mutating func scanQuery(_ t: UnsafeBufferPointer<UInt8>, from start: Int, looking: SigningParameters) {
        let n = t.count
        var parameterStart = start
        var nameEnd = -1
        if let base = t.baseAddress, n >= 16 {
            var w = start
            while w &+ 16 <= n {
                look(at: ByteLanes.notUnreserved16(base + w), from: w, in: t,
                     parameterStart: &parameterStart, nameEnd: &nameEnd, looking: looking)
                w &+= 16
            }
            if w < n {
                // The target's last 16 bytes, those before `w` (seen already) cleared.
                let last = n &- 16
                look(at: ByteLanes.notUnreserved16(base + last) & (~0 &<< UInt32(w &- last)), from: last, in: t,
                     parameterStart: &parameterStart, nameEnd: &nameEnd, looking: looking)
            }
        } else {
            for j in start..<n where !URIEncoding.isUnreserved(t[j]) {
                look(at: j, in: t, parameterStart: &parameterStart, nameEnd: &nameEnd, looking: looking)
            }
        }
        // The query's end closes its last parameter as an `&` would (which may gain an `=`).
        queryGrowth += 1
        endParameter(at: n, in: t, parameterStart: parameterStart, nameEnd: nameEnd, looking: looking)
    }

    /// The bytes from `w` that `marked` marks (bit `k` for the byte at `w + k`), in order.
    @inline(__always)
    private mutating func look(
        at marked: UInt32, from w: Int, in t: UnsafeBufferPointer<UInt8>, parameterStart: inout Int,
        nameEnd: inout Int, looking: SigningParameters
    ) {
        var marked = marked
        while marked != 0 {
            let j = w &+ marked.trailingZeroBitCount
            marked &= marked &- 1
            look(at: j, in: t, parameterStart: &parameterStart, nameEnd: &nameEnd, looking: looking)
        }
    }

    /// One byte of the query that is not unreserved, at `j`.
    @inline(__always)
    private mutating func look(
        at j: Int, in t: UnsafeBufferPointer<UInt8>, parameterStart: inout Int, nameEnd: inout Int,
        looking: SigningParameters
    ) {
        let b = t[j]
        switch b {
        case 0x26:
            queryGrowth += 1
            hasQuerySeparator = true
            endParameter(at: j, in: t, parameterStart: parameterStart, nameEnd: nameEnd, looking: looking)
            parameterStart = j + 1
            nameEnd = -1
        case 0x3d:
            queryGrowth += 2
            if nameEnd < 0 { nameEnd = j } else { queryIsPlain = false }
        case 0x25 where j + 2 < t.count && URIEncoding.isHex(t[j + 1]) && URIEncoding.isHex(t[j + 2]):
            // A well-formed escape is kept as it is (`keepEscapes`): the query stays plain.
            break
        default:
            queryIsPlain = false
            queryGrowth += 2
            if b < 0x20 || b == 0x7f || b == 0x23 { note(b) }
        }
    }

    /// The parameter from `parameterStart` to `end` (its name up to `nameEnd`, or all of it):
    /// is its name a signing parameter?
    @inline(__always)
    private mutating func endParameter(
        at end: Int, in t: UnsafeBufferPointer<UInt8>, parameterStart: Int, nameEnd: Int, looking: SigningParameters
    ) {
        let nameEnd = nameEnd >= 0 ? nameEnd : end
        if let bounds {
            if recordedElements >= 0 && recordedElements < boundsCapacity {
                // As indices of the query, which starts after the `?` at `queryStart`.
                bounds[2 &* recordedElements] = nameEnd &- queryStart &- 1
                bounds[2 &* recordedElements &+ 1] = end &- queryStart &- 1
                recordedElements &+= 1
            } else {
                recordedElements = -1
            }
        }
        guard looking != .ignored, !hasSigningParameter else { return }
        if nameEnd - parameterStart >= 10
            && TargetScan.isSigningParameter(
                UnsafeBufferPointer(rebasing: t[parameterStart..<nameEnd]), presign: looking == .presign)
        {
            hasSigningParameter = true
        }
    }

    /// The bounds of the query's `&`-separated elements, as indices of the query (the bytes after
    /// the first `?`), when the scan was given room for them all: for element `k`, `[2k]` is where
    /// its name ends (its first `=`, or its end when it has none) and `[2k + 1]` where it ends (its
    /// `&`, or the query's end). Every element is there, empty ones included (none when the target
    /// has no query). Nil when the scan was not given room, or too little.
    var queryElements: UnsafeBufferPointer<Int>? {
        guard let bounds, recordedElements >= 0 else { return nil }
        return UnsafeBufferPointer(start: bounds, count: 2 &* recordedElements)
    }

    /// Room for the first three canonical-request lines of this target (`CanonicalRequestBuilder`'s
    /// bound, with the query's part from this scan when the query has several parameters: those are
    /// encoded apart and appended at their exact size, so the query grows by at most
    /// ``queryGrowth`` plus its last parameter's `=`; a single parameter is encoded in place and
    /// needs room for three times its bytes). Keeps a long presigned target's canonical request
    /// under the 1 KiB that temporary allocations get on the stack.
    func requestLinesBound(methodCount: Int, targetCount: Int) -> Int {
        guard hasQuerySeparator else {
            return CanonicalRequestBuilder.requestLinesBound(methodCount: methodCount, targetCount: targetCount, extra: [])
        }
        let queryCount = targetCount - min(queryStart + 1, targetCount)
        return methodCount + 3 * (targetCount - queryCount) + queryCount + queryGrowth + 2 + 4
    }

    /// Throws the first problem found.
    func check() throws(SigV4Error) {
        switch problem {
        case 0: return
        case 1: throw SigV4Error(.invalidRequestTarget, "the request target must start with '/'")
        case 2: throw SigV4Error(.invalidRequestTarget, "the request target must not contain control bytes")
        default: throw SigV4Error(.invalidRequestTarget, "the request target must not contain a fragment ('#')")
        }
    }

    /// Case-insensitive match of a raw query parameter name against the signing parameters:
    /// `X-Amz-Signature` and `X-Amz-Credential`, or (`presign`) every `X-Amz-*` parameter presigning writes.
    static func isSigningParameter(_ name: UnsafeBufferPointer<UInt8>, presign: Bool) -> Bool {
        // Every name starts with "x-amz-" and is 10 to 21 bytes long.
        let count = name.count
        guard count >= 10, count <= 21, name[0] | 0x20 == 0x78 else { return false }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 21) { lower in
            for i in 0..<count {
                let b = name[i]
                lower[i] = (b >= 0x41 && b <= 0x5a) ? b | 0x20 : b
            }
            let l = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(lower)[0..<count])
            if ByteSearch.equals(l, "x-amz-signature") || ByteSearch.equals(l, "x-amz-credential") { return true }
            guard presign else { return false }
            return ByteSearch.equals(l, "x-amz-algorithm") || ByteSearch.equals(l, "x-amz-date")
                || ByteSearch.equals(l, "x-amz-expires") || ByteSearch.equals(l, "x-amz-signedheaders")
                || ByteSearch.equals(l, "x-amz-security-token") || ByteSearch.equals(l, "x-amz-s3session-token")
        }
    }
}
