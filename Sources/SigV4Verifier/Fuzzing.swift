/// Entry points for the libFuzzer targets in `Fuzz/` (a separate package that sees only public API).
///
/// Not API: `@_spi(Fuzzing)` keeps these out of the public interface. Each entry point runs one
/// internal parser on untrusted bytes and reports only whether it accepted them, so a fuzzer can
/// reach the parsers without going through the asynchronous ``Verifier``.
///
/// ```swift
/// @_spi(Fuzzing) import SigV4Verifier
/// _ = FuzzingEntryPoints.parseAuthorizationHeader(Array("AWS4-HMAC-SHA256 Credential=…".utf8))
/// ```
@_spi(Fuzzing) public enum FuzzingEntryPoints {
    /// Parses an `Authorization` header value; true when it is syntactically valid.
    public static func parseAuthorizationHeader(_ value: [UInt8]) -> Bool {
        guard let claim = try? AuthorizationParser.parseHeader(value) else { return false }
        precondition(claim.presign == nil, "a header claim must not carry presign parameters")
        return true
    }

    /// Parses the presign parameters of a query string (the bytes after `?`); true when valid.
    ///
    /// `offset` junk bytes are put in front of the query and sliced off again, so that index
    /// arithmetic on slices that do not start at zero is exercised too.
    public static func parsePresignedQuery(_ query: [UInt8], offset: Int = 0) -> Bool {
        let padded = [UInt8](repeating: 0x26, count: max(0, offset)) + query
        let slice = padded[max(0, offset)...]
        let looks = AuthorizationParser.looksPresigned(slice)
        guard let claim = try? AuthorizationParser.parseQuery(slice) else { return false }
        precondition(looks, "a query that parses as presigned must look presigned")
        guard let presign = claim.presign else { preconditionFailure("a query claim must carry presign parameters") }
        for element in [presign.signatureElement, presign.tokenElement].compactMap({ $0 }) {
            precondition(slice.indices.contains(element.lowerBound) && element.upperBound <= slice.endIndex)
        }
        return true
    }
}
