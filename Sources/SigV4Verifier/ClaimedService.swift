import SigV4

/// The service a request's credential names, read leniently to choose how to answer or explain a
/// request, never to verify it (``Verifier`` parses the credential strictly). The error format
/// (`SigV4ErrorFormat.automatic`) and `sigv4 explain --captured` both read it here, so a request is
/// told apart the same way in both.
///
/// ```swift
/// ClaimedService.read(authorization: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/SQS/aws4_request, …",
///                     target: "/")   // "SQS"
/// ```
package enum ClaimedService {
    /// The service of `Credential=…` in the `Authorization` value when it has one, else of the
    /// target's `X-Amz-Credential` query parameter (its name in any case, its value
    /// percent-decoded), as written (the verifier looks its rules up by that text). It is the part
    /// before the terminator, so SigV4
    /// (`AKID/YYYYMMDD/region/service/aws4_request`) and SigV4a (`AKID/YYYYMMDD/service/aws4_request`)
    /// both answer. nil when neither says, or the credential has fewer than four parts.
    ///
    /// ```swift
    /// let target = "/k?X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    /// ClaimedService.read(authorization: nil, target: target)  // "s3"
    /// ```
    package static func read(authorization: String?, target: String?) -> String? {
        let credential: [UInt8]
        let header = authorization.map { Array($0.utf8) } ?? []
        if let start = header.firstRange(of: Array("Credential=".utf8)) {
            let value = header[start.upperBound...].prefix { $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: " ") }
            credential = Array(value)
        } else if let target, let value = queryValue(Array(target.utf8), named: "x-amz-credential") {
            credential = URIEncoding.decode(value)
        } else {
            return nil
        }
        let parts = credential.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard parts.count >= 4 else { return nil }
        return String(decoding: parts[parts.count - 2], as: UTF8.self)
    }

    /// The raw value of the first query parameter of `target` whose name is `lowercaseName` in any
    /// ASCII case (empty for a name without `=`); nil when there is none. The query is split as the
    /// verifier splits it (``QueryParameter/split(_:)``).
    static func queryValue(_ target: [UInt8], named lowercaseName: StaticString) -> ArraySlice<UInt8>? {
        guard let mark = target.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        let wanted = UnsafeBufferPointer(start: lowercaseName.utf8Start, count: lowercaseName.utf8CodeUnitCount)
        // The parameters' ranges are indices of `target`.
        for parameter in QueryParameter.split(target[(mark + 1)...])
        where target[parameter.name].withUnsafeBufferPointer({ VerificationRequest.equalsIgnoringCase($0, wanted) }) {
            return parameter.value.map { target[$0] } ?? []
        }
        return nil
    }
}
