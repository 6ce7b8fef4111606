import SigV4

/// What a presigned URL's `X-Amz-Credential` and `X-Amz-SignedHeaders` values say, read once.
///
/// A client that presigns with one key, on one day, for one service and one set of signed headers
/// puts the same two values in every URL; only the date, the expiry and the signature change. The
/// query parser (``AuthorizationParser/parseQuery(target:query:source:readings:into:)``) reads them
/// (the credential split at its `/`s and its parts checked, its access key id, date, region,
/// service and terminator made strings; the signed names checked) and keeps the reading, found by the two
/// values' bytes as they are in the query (percent-encoded), for the next URL that has the same.
/// SigV4 only: a SigV4a credential has another form, and is read every time.
///
/// A reading is a function of those bytes alone (no policy is read here), so a URL is parsed to the
/// same claim whether its values were kept or not (`PresignCredentialTests`). Nothing here is
/// secret: the access key id is not, and the key is looked up for every request.
///
/// A class, its fields constant: a kept reading is handed out as one reference (a struct of five
/// strings was copied out of the cache and again into the parser, a retain and a release per
/// string each time).
final class PresignCredential: Sendable, Equatable {
    /// The access key id, decoded: a string of its own, made once when the reading is kept (a
    /// claim from the reading takes it whole, where a slice of the request's target would have
    /// both its bounds checked against the string's scalars, about 76 instructions per request).
    let accessKeyID: String
    /// The credential's date, `YYYYMMDD`.
    let dateStamp: String
    /// The day ``dateStamp`` names (``ClaimedAuthorization/dateDay``).
    let dateDay: Int64?
    let region: String
    let service: String
    /// Nearly always `aws4_request` (the parser checks it later, as it checks an unkept one).
    let terminator: String
    /// The `X-Amz-SignedHeaders` value decoded, when it holds `%` escapes (`host%3Bx-amz-date`, as
    /// botocore and the Go SDK send it); nil when the value in the query is the line itself. A
    /// claim from a kept reading reads the line here, where it would otherwise decode the value
    /// each time it is read (twice per verification: the `host` check and the canonical request).
    let decodedSignedHeaders: String?
    /// True when `host` is one of the signed names: a claim from this reading answers
    /// ``SignedHeadersText/signsHost`` with it, where the verifier's `host` check would search the
    /// line for it on every request.
    let signsHost: Bool

    init(
        accessKeyID: String, dateStamp: String, dateDay: Int64?, region: String, service: String,
        terminator: String, decodedSignedHeaders: String?, signsHost: Bool
    ) {
        self.accessKeyID = accessKeyID
        self.dateStamp = dateStamp
        self.dateDay = dateDay
        self.region = region
        self.service = service
        self.terminator = terminator
        self.decodedSignedHeaders = decodedSignedHeaders
        self.signsHost = signsHost
    }

    static func == (a: PresignCredential, b: PresignCredential) -> Bool {
        a.accessKeyID == b.accessKeyID && a.dateStamp == b.dateStamp && a.dateDay == b.dateDay && a.region == b.region
            && a.service == b.service && a.terminator == b.terminator
            && a.decodedSignedHeaders == b.decodedSignedHeaders && a.signsHost == b.signsHost
    }
}

/// The last few presigned credentials a verifier read (``PresignCredential``), found by their bytes
/// (``KeptReadings``).
typealias PresignCredentials = KeptReadings<PresignCredential>
