import Foundation
import SigV4
import SigV4KeyStore
import Testing

/// Last-used data is written behind, by every resolver over a store: a late flush of an older use
/// (another server's buffer) must not replace a newer one, on either storage.
@Suite struct LastUsedOrderTests {
    @Test(arguments: Backend.allCases)
    func anOlderUseWrittenLaterNeverReplacesANewerOne(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        let newer = LastUsed(at: now.adding(seconds: 60), region: "eu-west-1", service: "s3")
        let older = LastUsed(at: now, region: "us-east-1", service: "sqs")
        try fixture.store.storage.recordLastUsed([issued.accessKeyID: newer])
        try fixture.store.storage.recordLastUsed([issued.accessKeyID: older])
        #expect(try fixture.store.key(issued.accessKeyID).lastUsed == newer)
        // Unknown ids are ignored.
        try fixture.store.storage.recordLastUsed(["SV4KAAAAAAAAAAAAAAAA": newer])
        #expect(try fixture.store.keys().count == 1)
    }
}
