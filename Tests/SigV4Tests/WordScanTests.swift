import SigV4TestSupport
import Testing

@testable import SigV4

/// The signer's word-at-a-time scans against their rules written one byte at a time, on generated
/// inputs over the bytes each scan distinguishes, at every length around the word size (session 51
/// moved the target scan's path, the end of `unreservedRunEnd`, the header value's space check and
/// `copyBytes` of 17 to 32 bytes off byte loops and `memmove`, session 55 the query scan to 16-byte
/// SSE2 steps, session 56 the path scan and `unreservedRunEnd` to them; `WordCompareTests` holds the
/// word compares).
@Suite("word-at-a-time scans")
struct WordScanTests {
    /// Bytes the scans tell apart: unreserved, `/`, `.`, `?`, `=`, `&`, `%`, `#`, space, a control
    /// byte, DEL, a byte with the high bit set, hex digits.
    static let alphabet: [UInt8] = Array("ab09-_~./?=&%#AF ".utf8) + [0x01, 0x09, 0x7f, 0x80, 0xc3]
    static let pathAlphabet: [UInt8] = Array("ab09-_~./".utf8)

    static func generated(_ count: Int, seed: UInt64, lengths: ClosedRange<Int>, alphabet: [UInt8]) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            (0..<Int.random(in: lengths, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
        }
    }

    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x2e
            || b == 0x5f || b == 0x7e
    }

    @Test("TargetScan's path facts equal the byte-by-byte rules")
    func targetScanPath() {
        // Paths mostly of path bytes (the word loop's case) with a query sometimes, and any bytes.
        var targets = WordScanTests.generated(20_000, seed: 51, lengths: 0...40, alphabet: WordScanTests.pathAlphabet)
            .map { [0x2f] + $0 }
        targets += WordScanTests.generated(20_000, seed: 52, lengths: 0...40, alphabet: WordScanTests.alphabet)
            .map { [0x2f] + $0 }
        targets += [Array("/photos/2026/photo.jpg?size=large".utf8), Array("/a/b/c/d/e/f/g/h/.".utf8),
                    Array("/abcdefg/./x".utf8), Array("/abcdefg//x".utf8), Array("/abcdef/..".utf8),
                    Array("/abcdefgh/.well-known/x".utf8), Array("/abcdefg/".utf8)]
        for target in targets { WordScanTests.expectPathFacts(target) }
    }

    /// The path facts of `TargetScan` for `target`, against their rules one byte at a time.
    static func expectPathFacts(_ target: [UInt8]) {
        target.withUnsafeBufferPointer { t in
            let scan = TargetScan(t, looking: .signature)
            let queryStart = target.firstIndex(of: 0x3f) ?? target.count
            let path = UnsafeBufferPointer(rebasing: t[0..<queryStart])
            #expect(scan.queryStart == queryStart, "\(target)")
            #expect(scan.needsNormalization == URIEncoding.needsNormalization(path), "\(target)")
            #expect(
                scan.pathIsPlain == path.dropFirst().allSatisfy { WordScanTests.isUnreserved($0) || $0 == 0x2f },
                "\(target)")
            let acceptable = target.first == 0x2f && !target.contains { $0 < 0x20 || $0 == 0x7f || $0 == 0x23 }
            #expect(((try? scan.check()) != nil) == acceptable, "\(target)")
        }
    }

    @Test("TargetScan's path facts equal the byte-by-byte rules with one piece at every offset, every length to 70")
    func targetScanPathAtEveryOffset() {
        // The path's 16-byte steps start at bytes 1, 17, 33…: a piece that stops them (or one that
        // must not) at every offset of every step and of the tail, in paths of 0 to 70 bytes after
        // the first `/`, of plain segments (the steps' case) or of any path bytes (`/` and `.` too).
        let pieces = ["/", ".", "%", "%2F", "/.", "/..", "//", "/./", "/../", "./", "?", "#", " ", "+", "=", "&", "~",
                      "-", "_", "Z", "9", "\u{01}", "\u{7f}"].map { Array($0.utf8) } + [[0x80], [0xc3, 0xa9], [0xff]]
        var rng = SplitMix64(seed: 56)
        let plain = Array("photos2026-photo_jpg~x/a".utf8)
        for length in 0...70 {
            for offset in 0...length {
                for piece in pieces {
                    let fill: [UInt8] = Bool.random(using: &rng)
                        ? (0..<length).map { plain[$0 % plain.count] }
                        : (0..<length).map { _ in WordScanTests.pathAlphabet.randomElement(using: &rng)! }
                    var path = [0x2f] + fill
                    path.replaceSubrange((1 + offset)..<min(1 + offset + piece.count, path.count), with: piece)
                    path = Array(path.prefix(1 + length))
                    for suffix in [[], Array("?a=b".utf8)] { WordScanTests.expectPathFacts(path + suffix) }
                }
            }
        }
    }

    /// Targets of a path of 1 to 17 bytes and a query of up to 72 bytes of `alphabet`: the query
    /// starts at every offset modulo 16 and ends at every offset after it.
    static func queries(_ count: Int, seed: UInt64) -> [[UInt8]] {
        WordScanTests.generated(count, seed: seed, lengths: 0...72, alphabet: WordScanTests.alphabet).enumerated()
            .map { [0x2f] + [UInt8](repeating: 0x70, count: $0.offset % 17) + [0x3f] + $0.element }
    }

    /// The query facts of `TargetScan`, from their rules one byte and one parameter at a time.
    static func queryFacts(_ target: [UInt8], looking: TargetScan.SigningParameters)
        -> (plain: Bool, growth: Int, separator: Bool, signing: Bool)
    {
        guard let q = target.firstIndex(of: 0x3f) else { return (true, 0, false, false) }
        let n = target.count
        func isHex(_ b: UInt8) -> Bool {
            (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b)
        }
        var plain = true
        var growth = 1  // the query's end, counted as an `&`
        for j in (q + 1)..<n where !WordScanTests.isUnreserved(target[j]) {
            switch target[j] {
            case 0x26: growth += 1
            case 0x3d: growth += 2
            case 0x25 where j + 2 < n && isHex(target[j + 1]) && isHex(target[j + 2]): break
            default: plain = false; growth += 2
            }
        }
        let parameters = target[(q + 1)...].split(separator: 0x26, omittingEmptySubsequences: false)
        if parameters.contains(where: { $0.filter { $0 == 0x3d }.count > 1 }) { plain = false }
        var names = ["x-amz-signature", "x-amz-credential"]
        if looking == .presign {
            names += ["x-amz-algorithm", "x-amz-date", "x-amz-expires", "x-amz-signedheaders", "x-amz-security-token",
                      "x-amz-s3session-token"]
        }
        let signing = looking != .ignored && parameters.contains { parameter in
            let name = parameter.prefix { $0 != 0x3d }.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }
            return names.contains { Array($0.utf8) == name }
        }
        return (plain, growth, target[(q + 1)...].contains(0x26), signing)
    }

    @Test("TargetScan's query facts equal the byte-by-byte rules, for each set of signing names")
    func targetScanQuery() {
        // Any bytes after a short path, and queries made of signing names, escapes and separators
        // (every length around the 16-byte step, from every offset, so that the last step overlaps
        // the one before at every alignment).
        var targets = WordScanTests.queries(20_000, seed: 58)
        let pieces = ["X-Amz-Signature", "x-amz-credential", "X-AMZ-DATE", "X-Amz-Expires", "X-Amz-SignedHeaders",
                      "X-Amz-Algorithm", "X-Amz-Security-Token", "X-Amz-Dat", "=", "=", "&", "&", "%2F", "%2", "%",
                      "%zz", "ab", "#", "\u{01}", "+", "/", "?"].map { Array($0.utf8) }
        var rng = SplitMix64(seed: 59)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...8, using: &rng)
            targets.append(Array("/a?".utf8) + (0..<count).flatMap { _ in pieces.randomElement(using: &rng)! })
        }
        targets += [Array("/photos/2026/photo.jpg?size=large".utf8), Array("?a=b&c".utf8), Array("x?%41".utf8),
                    Array("/?".utf8), Array("/".utf8), Array("/?&".utf8), Array("/?X-Amz-Signature".utf8)]
        for target in targets {
            target.withUnsafeBufferPointer { t in
                for looking in [TargetScan.SigningParameters.ignored, .signature, .presign] {
                    let scan = TargetScan(t, looking: looking)
                    let expected = WordScanTests.queryFacts(target, looking: looking)
                    #expect(scan.queryIsPlain == expected.plain, "\(target)")
                    #expect(scan.hasQuerySeparator == expected.separator, "\(target)")
                    #expect(scan.hasSigningParameter == expected.signing, "\(target) \(looking)")
                    if target.contains(0x3f) { #expect(scan.queryGrowth == expected.growth, "\(target)") }
                    let acceptable = target.first == 0x2f && !target.contains { $0 < 0x20 || $0 == 0x7f || $0 == 0x23 }
                    #expect(((try? scan.check()) != nil) == acceptable, "\(target)")
                }
            }
        }
    }

    @Test("TargetScan's query elements are the query split at each '&'; the canonical query is the same from them")
    func targetScanQueryElements() {
        var targets = WordScanTests.queries(20_000, seed: 78)
        let pieces = ["X-Amz-Signature", "=", "=", "&", "&", "%2F", "%", "ab", "+", "/", "?", " "]
            .map { Array($0.utf8) }
        var rng = SplitMix64(seed: 79)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...12, using: &rng)
            targets.append(Array("/a?".utf8) + (0..<count).flatMap { _ in pieces.randomElement(using: &rng)! })
        }
        targets += [Array("?a=b&c".utf8), Array("/?".utf8), Array("/".utf8), Array("/?&".utf8), Array("/?&&=&".utf8)]
        for target in targets {
            target.withUnsafeBufferPointer { t in
                // Room for 4 elements (longer queries overflow it) and for 32.
                for room in [4, 32] {
                    withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * room) { elements in
                        let scan = TargetScan(t, looking: .ignored, recordingElementsIn: elements)
                        let queryStart = min(scan.queryStart + 1, t.count)
                        let query = Array(target[queryStart...])
                        // Each element's name end (first `=`, or its end) and end, as indices of the query.
                        var expected: [Int] = []
                        var starts: [Int] = []
                        if target.contains(0x3f) {
                            for element in query.split(separator: 0x26, omittingEmptySubsequences: false) {
                                starts.append(element.startIndex)
                                expected += [element.firstIndex(of: 0x3d) ?? element.endIndex, element.endIndex]
                            }
                        }
                        guard let recorded = scan.queryElements else {
                            #expect(expected.count > 2 * room, "\(target)")
                            return
                        }
                        #expect(Array(recorded) == expected, "\(target)")
                        // Every element start skipped in turn (and none), against the query searched again.
                        let q = UnsafeBufferPointer(rebasing: t[queryStart...])
                        for skipping in [-1] + starts {
                            func written(_ elements: UnsafeBufferPointer<Int>?) -> [UInt8] {
                                (try? ByteWriter.makeArray(capacity: 4 * q.count + 2) { w in
                                    CanonicalRequestBuilder.appendCanonicalQuery(
                                        q, encodedExtra: UnsafeBufferPointer(start: nil, count: 0), plus: .literal,
                                        alreadyCanonical: scan.queryIsPlain, skipping: skipping, elements: elements,
                                        to: &w)
                                }) ?? []
                            }
                            #expect(written(recorded) == written(nil), "\(target) skipping \(skipping)")
                        }
                    }
                }
            }
        }
    }

    @Test("unreservedRunEnd finds the first byte that is not unreserved, from every start")
    func unreservedRunEnd() {
        // Every length around two 16-byte steps and the overlapping last step after them.
        let inputs = WordScanTests.generated(4_000, seed: 53, lengths: 0...70, alphabet: WordScanTests.alphabet)
            + WordScanTests.generated(4_000, seed: 54, lengths: 0...70, alphabet: Array("ab09-_~.".utf8) + [0x2f])
        for bytes in inputs {
            bytes.withUnsafeBufferPointer { t in
                for start in 0...bytes.count {
                    var end = start
                    while end < bytes.count && WordScanTests.isUnreserved(bytes[end]) { end += 1 }
                    #expect(URIEncoding.unreservedRunEnd(t, from: start) == end, "\(bytes) from \(start)")
                }
            }
        }
    }

    @Test("a header value has no byte at or below space exactly when no byte is")
    func spaceCheck() {
        let alphabet = Array("ab!~".utf8) + [0x20, 0x21, 0x09, 0x00, 0xff]
        let inputs = WordScanTests.generated(20_000, seed: 55, lengths: 0...40, alphabet: alphabet)
        for bytes in inputs {
            bytes.withUnsafeBufferPointer { b in
                #expect(CanonicalHeaders.hasNoByteAtOrBelowSpace(b) == b.allSatisfy { $0 > 0x20 }, "\(bytes)")
            }
        }
    }

    @Test("copyBytes copies every length and writes nothing past the end")
    func copyBytesLengths() {
        for n in 0...80 {
            let source = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            var destination = [UInt8](repeating: 0xaa, count: n + 16)
            source.withUnsafeBytes { s in
                destination.withUnsafeMutableBufferPointer { d in copyBytes(to: d.baseAddress! + 8, from: s) }
            }
            #expect(Array(destination[8..<(8 + n)]) == source, "length \(n)")
            #expect(destination[0..<8].allSatisfy { $0 == 0xaa }, "length \(n)")
            #expect(destination[(8 + n)...].allSatisfy { $0 == 0xaa }, "length \(n)")
        }
    }

    @Test("a name's 8-byte sort prefix is its first bytes, big-endian, zero-padded, at every length")
    func namePrefixLengths() {
        // Session 57 read names of 1 to 7 bytes as overlapping words (no byte loop): every length,
        // with bytes before and after the name that must not reach the prefix.
        var rng = SplitMix64(seed: 57)
        for n in 0...12 {
            for _ in 0..<200 {
                let bytes = (0..<(n + 16)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                var expected: UInt64 = 0
                for i in 0..<min(n, 8) { expected |= UInt64(bytes[8 + i]) << UInt64(56 - 8 * i) }
                let prefix = bytes.withUnsafeBufferPointer { CanonicalHeaders.prefix($0.baseAddress! + 8, n) }
                let ofName = bytes.withUnsafeBytes { b in
                    CanonicalHeaders.prefix(of: UnsafeRawBufferPointer(rebasing: b[8..<(8 + n)]))
                }
                #expect(prefix == expected, "length \(n): \(bytes)")
                #expect(ofName == expected, "length \(n): \(bytes)")
            }
        }
    }

    @Test("indexInShortRange finds the first ';' or '=' of every range")
    func indexInShortRange() {
        // Session 51's `nameEnd` (`;` to the list's end) folded into this search in session 52: every
        // start and every end, so the last word starts before the range, inside it, or is not read.
        let inputs = WordScanTests.generated(800, seed: 56, lengths: 0...40, alphabet: Array("ab-x;=".utf8))
            + WordScanTests.generated(300, seed: 57, lengths: 0...40,
                alphabet: Array("abcdefgh;=".utf8) + [0xbb, 0xbd, 0x3a, 0x3c])
        for bytes in inputs {
            bytes.withUnsafeBufferPointer { s in
                for byte: UInt8 in [0x3b, 0x3d] {
                    for start in 0...bytes.count {
                        for upper in start...bytes.count {
                            let expected = bytes[start..<upper].firstIndex(of: byte) ?? upper
                            #expect(
                                ByteSearch.indexInShortRange(of: byte, in: s, start..<upper) == expected,
                                "\(bytes) \(byte) in \(start)..<\(upper)")
                        }
                    }
                }
            }
        }
    }

    /// The canonical header lines for a signed list, written name by name from the rule: every
    /// field of that name, in their order, values trimmed and collapsed by the general
    /// `CanonicalRequestBuilder.appendCanonicalValue` and joined by `,`, then the blank line and the list.
    static func exactLines(fields: [(name: [UInt8], value: [UInt8])], line: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        // An empty list has no lines (not one empty name's).
        if line.isEmpty { return [0x0a] }
        for wanted in line.split(separator: 0x3b, omittingEmptySubsequences: false) {
            out += wanted + [0x3a]
            let values = fields.filter { $0.name.elementsEqual(wanted) }.map { field in
                var value: [UInt8] = []
                CanonicalRequestBuilder.appendCanonicalValue(field.value, to: &value)
                return value
            }
            out += Array(values.joined(separator: [0x2c]))
            out.append(0x0a)
        }
        return out + [0x0a] + line
    }

    @Test("appendExactly writes the rule's lines for generated fields, values and signed lists")
    func appendExactly() {
        var rng = SplitMix64(seed: 59)
        // Names that share their first bytes and differ around the 8-byte word, with token bytes
        // that sort before ';' (`!`, `-`, `.`) and after it.
        let stems = ["a", "accept", "host", "x-amz-", "x-amz-date", "x-amz-meta-", "my-header", "abcdefgh", "abcdefg"]
        let tails = ["", "", "1", "a", "!", "-b", ".", "zz", "date", "-abcdefgh"]
        // Half the values need trimming or collapsing somewhere (spaces and tabs at any place, 0 to
        // 20 bytes, across the word ends of the check for bytes at or below 0x20); half do not.
        let spaced = WordScanTests.generated(1_000, seed: 60, lengths: 0...20, alphabet: Array("ab- \t".utf8))
        for _ in 0..<6_000 {
            let fieldCount = Int.random(in: 0...8, using: &rng)
            var fields: [(name: [UInt8], value: [UInt8])] = (0..<fieldCount).map { i in
                (
                    Array((stems.randomElement(using: &rng)! + tails.randomElement(using: &rng)!).utf8),
                    Bool.random(using: &rng) ? Array("v\(i)".utf8) : spaced.randomElement(using: &rng)!)
            }
            if Bool.random(using: &rng), let f = fields.first { fields.append((f.name, Array("again".utf8))) }
            var names = Set(fields.map(\.name)).filter { _ in Int.random(in: 0..<4, using: &rng) > 0 }
            for _ in 0..<Int.random(in: 0...2, using: &rng) {
                names.insert(Array((stems.randomElement(using: &rng)! + tails.randomElement(using: &rng)!).utf8))
            }
            var list = names.sorted { $0.lexicographicallyPrecedes($1) }
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: list.shuffle(using: &rng)
            case 1: if let f = list.first { list.append(f) }
            case 2: list.insert([], at: Int.random(in: 0...list.count, using: &rng))
            default: break
            }
            let line = Array(list.joined(separator: [0x3b]))
            // The scratch sorts stably by name: the rule's fields in that order.
            let sorted = fields.enumerated().sorted {
                $0.element.name.lexicographicallyPrecedes($1.element.name)
                    || ($0.element.name == $1.element.name && $0.offset < $1.offset)
            }.map(\.element)
            var written: [UInt8] = []
            try? CanonicalHeaders.withScratch(byteCount: 768, count: 24) { headers throws(SigV4Error) in
                for f in fields {
                    f.name.withUnsafeBytes { n in
                        f.value.withUnsafeBytes { v in _ = headers.tryAdd(lowercaseName: n, value: v) }
                    }
                }
                headers.sort()
                let h = headers
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer in
                    var out = ByteWriter(buffer)
                    line.withUnsafeBufferPointer { h.appendExactly($0, to: &out) }
                    written = Array(out.written)
                }
            }
            let fieldNames = fields.map { String(decoding: $0.name, as: UTF8.self) }
            #expect(
                written == WordScanTests.exactLines(fields: sorted, line: line),
                "\(fieldNames) \(String(decoding: line, as: UTF8.self))")
        }
    }
}
