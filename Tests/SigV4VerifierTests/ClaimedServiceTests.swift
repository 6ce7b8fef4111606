import SigV4Verifier
import Testing

/// `ClaimedService.read`: the lenient reader the error format and `explain --captured` share.
@Suite("ClaimedService: the service a request's credential names, read leniently")
struct ClaimedServiceTests {
    static let header =
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/SQS/aws4_request, SignedHeaders=host, Signature=00"

    @Test("the Authorization's Credential gives the service as written, for SigV4 and SigV4a, with or without spaces after the commas")
    func fromTheHeader() {
        #expect(ClaimedService.read(authorization: Self.header, target: "/") == "SQS")
        let compact =
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/s3/aws4_request,SignedHeaders=host,Signature=00"
        #expect(ClaimedService.read(authorization: compact, target: nil) == "s3")
        let sigV4a = "AWS4-ECDSA-P256-SHA256 Credential=AKID/20260101/s3/aws4_request, SignedHeaders=host, Signature=30"
        #expect(ClaimedService.read(authorization: sigV4a, target: nil) == "s3")
        // The header wins over the query.
        let both = "/k?X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fsts%2Faws4_request"
        #expect(ClaimedService.read(authorization: Self.header, target: both) == "SQS")
    }

    @Test("a presigned target's X-Amz-Credential is read in any name case, %2F or %2f decoded; an Authorization without Credential= falls back to it")
    func fromTheQuery() {
        let upper =
            "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
        #expect(ClaimedService.read(authorization: nil, target: upper) == "s3")
        let lower = "/?a=1&x-amz-credential=AKID%2f20260101%2fus-east-1%2fmonitoring%2faws4_request&b"
        #expect(ClaimedService.read(authorization: nil, target: lower) == "monitoring")
        #expect(ClaimedService.read(authorization: "Bearer xyz", target: upper) == "s3")
        let raw = "/?X-Amz-Credential=AKID/20260101/us-east-1/iam/aws4_request"
        #expect(ClaimedService.read(authorization: nil, target: raw) == "iam")
    }

    @Test("no credential, a credential of fewer than four parts, or a parameter that only starts like X-Amz-Credential gives nil")
    func nothingToRead() {
        #expect(ClaimedService.read(authorization: nil, target: nil) == nil)
        #expect(ClaimedService.read(authorization: nil, target: "/a/b") == nil)
        #expect(ClaimedService.read(authorization: "AWS4-HMAC-SHA256 Credential=AKID/20260101/x", target: nil) == nil)
        #expect(ClaimedService.read(authorization: nil, target: "/?X-Amz-Credential=") == nil)
        #expect(ClaimedService.read(authorization: nil, target: "/?X-Amz-Credential") == nil)
        let longer = "/?X-Amz-CredentialX=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
        #expect(ClaimedService.read(authorization: nil, target: longer) == nil)
        // A name byte that only matches when or-ed with 0x20 (`\r` | 0x20 is `-`) is not a match.
        let control = "/?X\rAmz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
        #expect(ClaimedService.read(authorization: nil, target: control) == nil)
    }
}
