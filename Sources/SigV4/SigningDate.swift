import HTTPTypes
import _SigV4Crypto

/// What the signatures of signers without a key cache share within one second (nothing secret):
/// the date's text, its date stamp (the credential scope's `String`) and its `X-Amz-Date` field (a
/// 16-byte `String` is a heap allocation). The first such signature in a second makes it and keeps
/// it in ``last``; the others in that second take it from there with one lock and one retain, where
/// each formatted the date, made and validated the stamp's `String`, and copied a kept field out
/// of a lock.
///
/// ```swift
/// let day = SigningDate.at(date)
/// let scope = CredentialScope(checkedDateStamp: day.dateStamp, region: region, service: service)
/// ```
final class SigningDate: Sendable {
    /// The second (since 1970) the parts are for.
    let second: Int64
    let dateText: AmzDateText
    /// `YYYYMMDD`, the first 8 bytes of ``dateText``.
    let dateStamp: String
    let dateField: HTTPField

    /// Makes the parts for `date`'s second.
    init(_ date: AmzDate) {
        second = date.secondsSince1970
        let text = AmzDateText(date)
        dateText = text
        dateStamp = text.dateStamp
        dateField = HTTPField(name: Signer.amzDateName, value: text.string)
    }

    /// The last one made, shared until a signature in another second replaces it.
    static let last = Locked<SigningDate?>(nil)

    /// The parts for `date`'s second: the kept ones when they are for it, otherwise made now and kept.
    static func at(_ date: AmzDate) -> SigningDate {
        if let kept = last.withLock({ $0 }), kept.second == date.secondsSince1970 { return kept }
        let made = SigningDate(date)
        last.withLock { $0 = made }
        return made
    }
}
