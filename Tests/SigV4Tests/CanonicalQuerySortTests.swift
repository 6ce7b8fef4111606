import SigV4TestSupport
import Testing

@testable import SigV4

/// `CanonicalRequestBuilder.appendCanonicalQuery(_:encodedExtra:…)` against a plain reference on
/// generated queries (session 56 moved its sort to 16-byte keys, its short names' keys to one
/// masked load and its output to one capacity-checked write): names sharing long prefixes (ties
/// of the 8-byte keys) and shorter than 8 bytes, duplicates, valueless and empty elements, a
/// skipped element, 0 to 60 parameters (across the insertion sort's limit of 48), with and
/// without the scan's element ends and extra parameters.
@Suite("canonical query sort")
struct CanonicalQuerySortTests {
    /// One generated case: the query, the extra parameters, and how the builder is asked to read them.
    struct Case {
        var query: [UInt8]
        var extra: [UInt8]
        var alreadyCanonical: Bool
        var skipping: Int
        var withElements: Bool
        var plus: URIEncoding.PlusPolicy
    }

    /// Name prefixes that tie in their first 8 bytes, or are shorter than 8 bytes.
    static let prefixes = ["", "a", "size", "X-Amz-", "X-Amz-Si", "X-Amz-Signature", "abcdefgh", "abcdefghijkl"]
    /// Bytes that are their own encoding, and bytes that need encoding (`+`, space, `%`, `/`, é).
    static let plain = Array("aAzZ09-_.~".utf8)
    static let encoded = plain + Array("+ %/".utf8) + [0xc3, 0xa9]

    static func bytes(_ count: Int, of alphabet: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        (0..<count).map { _ in alphabet.randomElement(using: &rng)! }
    }

    /// A query element: a name of 0 to 20 bytes, with a value, an empty value, or none.
    static func element(_ alphabet: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        let name = Array((Array(prefixes.randomElement(using: &rng)!.utf8)
            + bytes(Int.random(in: 0...6, using: &rng), of: alphabet, using: &rng)).prefix(20))
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return name  // valueless
        case 1: return name + [0x3d]  // empty value
        default: return name + [0x3d] + bytes(Int.random(in: 0...12, using: &rng), of: alphabet, using: &rng)
        }
    }

    /// `count` elements joined by `&`: duplicates of earlier ones and empty ones among them.
    static func elements(_ count: Int, _ alphabet: [UInt8], using rng: inout SplitMix64) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for _ in 0..<count {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0 where !out.isEmpty: out.append(out.randomElement(using: &rng)!)
            case 1: out.append([])
            default: out.append(element(alphabet, using: &rng))
            }
        }
        return out
    }

    static func generated(_ count: Int, seed: UInt64) -> [Case] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let alreadyCanonical = Bool.random(using: &rng)
            let parts = elements(Int.random(in: 0...60, using: &rng), alreadyCanonical ? plain : encoded, using: &rng)
            let query = Array(parts.joined(separator: [0x26]))
            // The start of one element (maybe an empty one), or none.
            var starts: [Int] = []
            var at = 0
            for part in parts {
                starts.append(at)
                at += part.count + 1
            }
            let skipping = starts.isEmpty || Bool.random(using: &rng) ? -1 : starts.randomElement(using: &rng)!
            let extra = Bool.random(using: &rng)
                ? Array(elements(Int.random(in: 0...8, using: &rng), plain, using: &rng).joined(separator: [0x26])) : []
            return Case(
                query: query, extra: extra, alreadyCanonical: alreadyCanonical, skipping: skipping,
                withElements: Bool.random(using: &rng), plus: [.literal, .space, .verbatim].randomElement(using: &rng)!)
        }
    }

    /// Each element's name end (its first `=`, or its end) and end, as ``TargetScan`` records them.
    static func elementEnds(_ query: [UInt8]) -> [Int] {
        query.split(separator: 0x26, omittingEmptySubsequences: false).flatMap { element in
            [element.firstIndex(of: 0x3d) ?? element.endIndex, element.endIndex]
        }
    }

    /// The rule, written plainly: every non-empty, non-skipped element of the query encoded, the
    /// extra ones as they are, `name=value` (an empty value for none), sorted by name bytes, then
    /// by value bytes, joined by `&`.
    static func reference(_ c: Case) -> [UInt8] {
        func encoded(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            if c.alreadyCanonical { return Array(bytes) }
            let input = Array(bytes)
            return [UInt8](unsafeUninitializedCapacity: 3 * input.count + 1) { buffer, initialized in
                initialized = input.withUnsafeBufferPointer {
                    URIEncoding.encode($0, into: buffer.baseAddress!, keepSlash: false, keepEscapes: true, plus: c.plus)
                }
            }
        }
        var parameters: [(name: [UInt8], value: [UInt8])] = []
        func split(_ element: ArraySlice<UInt8>, encode: Bool) {
            let eq = element.firstIndex(of: 0x3d) ?? element.endIndex
            let name = element[element.startIndex..<eq]
            let value = eq < element.endIndex ? element[(eq + 1)...] : []
            parameters.append(encode ? (encoded(name), encoded(value)) : (Array(name), Array(value)))
        }
        for element in c.query.split(separator: 0x26, omittingEmptySubsequences: false)
        where !element.isEmpty && element.startIndex != c.skipping {
            split(element, encode: true)
        }
        for element in c.extra.split(separator: 0x26, omittingEmptySubsequences: false) where !element.isEmpty {
            split(element, encode: false)
        }
        parameters.sort { a, b in
            a.name != b.name ? a.name.lexicographicallyPrecedes(b.name) : a.value.lexicographicallyPrecedes(b.value)
        }
        return Array(parameters.map { $0.name + [0x3d] + $0.value }.joined(separator: [0x26]))
    }

    /// What the builder writes for `c`.
    static func built(_ c: Case) -> [UInt8] {
        let ends = elementEnds(c.query)
        return c.query.withUnsafeBufferPointer { q in
            c.extra.withUnsafeBufferPointer { extra in
                ends.withUnsafeBufferPointer { ends in
                    (try? ByteWriter.makeArray(capacity: 3 * (q.count + extra.count) + 2) { w in
                        CanonicalRequestBuilder.appendCanonicalQuery(
                            q, encodedExtra: extra, plus: c.plus, alreadyCanonical: c.alreadyCanonical,
                            skipping: c.skipping, elements: c.withElements ? ends : nil, to: &w)
                    }) ?? []
                }
            }
        }
    }

    @Test("the canonical query equals the plain sort by name bytes, then value bytes")
    func againstReference() {
        let cases = CanonicalQuerySortTests.generated(20_000, seed: 56)
        // The generator reaches what it is for: the insertion sort's limit crossed both ways.
        #expect(cases.contains { $0.query.filter { $0 == 0x26 }.count > 48 })
        #expect(cases.contains { $0.query.filter { $0 == 0x26 }.count < 48 })
        var failures = 0
        for c in cases where failures < 5 {
            let expected = CanonicalQuerySortTests.reference(c)
            let got = CanonicalQuerySortTests.built(c)
            if got != expected { failures += 1 }
            #expect(
                got == expected,
                """
                query \(String(decoding: c.query, as: UTF8.self)) extra \(String(decoding: c.extra, as: UTF8.self)) \
                canonical \(c.alreadyCanonical) skipping \(c.skipping) elements \(c.withElements) plus \(c.plus)
                """)
        }
    }

    @Test("the benchmark's presigned query: X-Amz-Signature skipped, the short `size` sorted last")
    func presignedQuery() {
        let query = Array(
            ("size=large&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2F"
                + "aws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-Signature=abc"
                + "&X-Amz-SignedHeaders=host").utf8)
        let skipping = Array(query).firstRange(of: Array("X-Amz-Signature".utf8))!.lowerBound
        let c = Case(
            query: query, extra: [], alreadyCanonical: true, skipping: skipping, withElements: true, plus: .literal)
        #expect(
            String(decoding: CanonicalQuerySortTests.built(c), as: UTF8.self)
                == "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2F"
                + "aws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&size=large")
        #expect(CanonicalQuerySortTests.built(c) == CanonicalQuerySortTests.reference(c))
    }
}
