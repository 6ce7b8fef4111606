#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

extension AmzDate {
    /// Creates a SigV4 timestamp from a `Date`, truncated to whole seconds.
    ///
    /// ```swift
    /// let date = AmzDate(Date())
    /// ```
    public init(_ date: Date) {
        self.init(secondsSince1970: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// The same instant as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: TimeInterval(secondsSince1970)) }
}
