import Foundation
import SigV4
import SigV4KeyStore
import SigV4Verifier
import Testing

/// The states a key can be put into before an operation is tried.
enum StartState: String, CaseIterable, Sendable {
    case active, retiring, inactive, deleted
}

/// The operations of the state machine.
enum Operation: String, CaseIterable, Sendable {
    case retire, deactivate, activate, delete, forceDelete
}

/// What an operation from a state must do: move to a state, or be refused with a code.
struct TransitionCase: Sendable, CustomTestStringConvertible {
    var from: StartState
    var operation: Operation
    var expectedState: String?
    var refusal: KeyStoreError.Code?

    var testDescription: String {
        "\(from.rawValue) --\(operation.rawValue)--> \(expectedState ?? "refused \(refusal!)")"
    }

    static let all: [TransitionCase] = [
        .init(from: .active, operation: .retire, expectedState: "retiring"),
        .init(from: .active, operation: .deactivate, expectedState: "inactive"),
        .init(from: .active, operation: .activate, refusal: .invalidTransition),
        .init(from: .active, operation: .delete, refusal: .invalidTransition),
        .init(from: .active, operation: .forceDelete, refusal: .invalidTransition),
        .init(from: .retiring, operation: .retire, refusal: .invalidTransition),
        .init(from: .retiring, operation: .deactivate, expectedState: "inactive"),
        .init(from: .retiring, operation: .activate, refusal: .invalidTransition),
        .init(from: .retiring, operation: .delete, refusal: .invalidTransition),
        .init(from: .retiring, operation: .forceDelete, refusal: .invalidTransition),
        .init(from: .inactive, operation: .retire, refusal: .invalidTransition),
        .init(from: .inactive, operation: .deactivate, refusal: .invalidTransition),
        .init(from: .inactive, operation: .activate, expectedState: "active"),
        .init(from: .inactive, operation: .delete, refusal: .retentionNotElapsed),
        .init(from: .inactive, operation: .forceDelete, expectedState: "deleted"),
        .init(from: .deleted, operation: .retire, refusal: .keyDeleted),
        .init(from: .deleted, operation: .deactivate, refusal: .keyDeleted),
        .init(from: .deleted, operation: .activate, refusal: .keyDeleted),
        .init(from: .deleted, operation: .delete, refusal: .keyDeleted),
        .init(from: .deleted, operation: .forceDelete, refusal: .keyDeleted),
    ]
}

/// Puts a fresh key of `principal` into `state` and returns its id.
func makeKey(_ store: KeyStore, in state: StartState, principal: String = "alice") throws -> String {
    let id = try store.createKey(principal: principal, actor: "test").accessKeyID
    switch state {
    case .active: break
    case .retiring: try store.retire(keyID: id, at: store.now.adding(seconds: 3600), actor: "test")
    case .inactive: try store.deactivate(keyID: id, actor: "test")
    case .deleted:
        try store.deactivate(keyID: id, actor: "test")
        try store.delete(keyID: id, force: true, actor: "test")
    }
    return id
}

func apply(_ operation: Operation, _ id: String, _ store: KeyStore) throws {
    switch operation {
    case .retire: try store.retire(keyID: id, at: store.now.adding(seconds: 60), actor: "test")
    case .deactivate: try store.deactivate(keyID: id, actor: "test")
    case .activate: try store.activate(keyID: id, actor: "test")
    case .delete: try store.delete(keyID: id, actor: "test")
    case .forceDelete: try store.delete(keyID: id, force: true, actor: "test")
    }
}

@Suite struct StateMachineTests {
    @Test(arguments: Backend.allCases, TransitionCase.all)
    func transitionIsAppliedOrRefused(backend: Backend, transition: TransitionCase) throws {
        let fixture = try Fixture(backend)
        let id = try makeKey(fixture.store, in: transition.from)
        fixture.clock.advance(1)
        let before = try StoreSnapshot(fixture.store)
        if let refusal = transition.refusal {
            expectError(refusal) { try apply(transition.operation, id, fixture.store) }
            #expect(try StoreSnapshot(fixture.store) == before)
        } else {
            try apply(transition.operation, id, fixture.store)
            let key = try fixture.store.key(id)
            #expect(key.state.name == transition.expectedState)
            #expect(key.stateChangedAt == fixture.clock.now)
            #expect(try fixture.store.generation() > before.generation)
            let last = try #require(try fixture.store.auditLog().last)
            #expect(last.keyID == id)
            #expect(last.actor == "test")
            #expect(last.detail.contains("from=\(transition.from.rawValue)"))
        }
    }

    @Test(arguments: Backend.allCases)
    func issuedIdsAndSecretsHaveTheDocumentedShapeAndAreUnique(backend: Backend) throws {
        let fixture = try Fixture(backend)
        var ids = Set<String>()
        var secrets = Set<String>()
        let base32 = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        let base64 = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        for i in 0..<40 {
            let issued = try fixture.store.createKey(principal: "p\(i)", actor: "test")
            let id = issued.accessKeyID
            #expect(id.count == 20)
            #expect(id.hasPrefix("SV4K"))
            #expect(id.dropFirst(4).allSatisfy { base32.contains($0) })
            let secret = issued.secretAccessKey.revealForDisplay()
            #expect(secret.count == 40)
            #expect(secret.allSatisfy { base64.contains($0) })
            #expect(!"\(issued)".contains(secret))
            ids.insert(id)
            secrets.insert(secret)
        }
        #expect(ids.count == 40)
        #expect(secrets.count == 40)
    }

    @Test(arguments: Backend.allCases)
    func deletedKeyLeavesATombstoneAndItsIdIsNeverReused(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let id = try makeKey(fixture.store, in: .deleted)
        let tombstone = try fixture.store.key(id)
        #expect(tombstone.state == .deleted)
        #expect(tombstone.masterKeyVersion == nil)
        #expect(try fixture.store.keys().allSatisfy { $0.accessKeyID != id })
        #expect(try fixture.store.keys(includeDeleted: true).contains { $0.accessKeyID == id })
        for i in 0..<20 {
            #expect(try fixture.store.createKey(principal: "q\(i)", actor: "test").accessKeyID != id)
        }
        expectError(.keyDeleted) { _ = try fixture.store._openSecret(keyID: id) }
    }

    @Test(arguments: Backend.allCases)
    func deletionWaitsForTheRetentionPeriodUnlessForced(backend: Backend) throws {
        var policy = KeyStorePolicy()
        policy.deletionRetention = 7 * 86_400
        let fixture = try Fixture(backend, policy: policy)
        let id = try makeKey(fixture.store, in: .inactive)
        fixture.clock.advance(7 * 86_400 - 1)
        expectError(.retentionNotElapsed) { try fixture.store.delete(keyID: id, actor: "test") }
        fixture.clock.advance(1)
        try fixture.store.delete(keyID: id, actor: "test")
        #expect(try fixture.store.key(id).state == .deleted)
    }

    @Test(arguments: Backend.allCases)
    func retiringKeyBecomesInactiveByItselfAfterTheGracePeriod(backend: Backend) throws {
        var policy = KeyStorePolicy()
        policy.retiringGrace = 600
        let fixture = try Fixture(backend, policy: policy)
        let id = try makeKey(fixture.store, in: .retiring)
        guard case .retiring(let at) = try fixture.store.key(id).state else {
            Issue.record("not retiring")
            return
        }
        fixture.clock.now = at.adding(seconds: 599)
        #expect(try fixture.store.key(id).state == .retiring(at: at))
        fixture.clock.now = at.adding(seconds: 600)
        // No one acted: the effective state is already inactive and the resolver refuses it.
        #expect(try fixture.store.key(id).state == .inactive)
        #expect(
            try fixture.store.resolveNow(
                accessKeyID: id, context: context(signedAt: at.adding(seconds: -1), now: fixture.clock.now)) == nil)
        // The next change (or a sweep) persists it, audited as the system.
        #expect(try fixture.store.sweepExpired() == 1)
        let expiry = try #require(try fixture.store.auditLog().last)
        #expect(expiry.action == "key.expire")
        #expect(expiry.actor == "system")
        #expect(expiry.keyID == id)
        // Now it can be activated again, like any inactive key.
        try fixture.store.activate(keyID: id, actor: "test")
        #expect(try fixture.store.key(id).state == .active)
    }

    @Test(arguments: Backend.allCases)
    func atMostTwoActiveKeysPerPrincipal(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let first = try fixture.store.createKey(principal: "alice", actor: "test").accessKeyID
        _ = try fixture.store.createKey(principal: "alice", actor: "test")
        let before = try StoreSnapshot(fixture.store)
        expectError(.tooManyActiveKeys) { _ = try fixture.store.createKey(principal: "alice", actor: "test") }
        #expect(try StoreSnapshot(fixture.store) == before)
        // Another principal is not affected.
        _ = try fixture.store.createKey(principal: "bob", actor: "test")
        // Deactivating one frees a slot; re-activating it is then refused.
        try fixture.store.deactivate(keyID: first, actor: "test")
        _ = try fixture.store.createKey(principal: "alice", actor: "test")
        expectError(.tooManyActiveKeys) { try fixture.store.activate(keyID: first, actor: "test") }
        #expect(try fixture.store.keys(principal: "alice").filter { $0.state == .active }.count == 2)
    }

    @Test(arguments: Backend.allCases)
    func theActiveKeyLimitIsConfigurableAndRetiringKeysDoNotCount(backend: Backend) throws {
        var policy = KeyStorePolicy()
        policy.maxActiveKeysPerPrincipal = 1
        let fixture = try Fixture(backend, policy: policy)
        _ = try fixture.store.createKey(principal: "alice", actor: "test")
        expectError(.tooManyActiveKeys) { _ = try fixture.store.createKey(principal: "alice", actor: "test") }
        let rotation = try fixture.store.rotate(principal: "alice", overlap: 60, actor: "test")
        #expect(rotation.retired != nil)
        let states = try fixture.store.keys(principal: "alice").map(\.state.name)
        #expect(states == ["retiring", "active"])
    }

    @Test(arguments: Backend.allCases)
    func rotateIssuesANewKeyAndSchedulesTheOldOneToRetire(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let scope = KeyScope(regions: ["eu-west-1"], services: ["s3"])
        let old = try fixture.store.createKey(principal: "alice", scope: scope, description: "ci", actor: "test")
        fixture.clock.advance(10)
        let rotation = try fixture.store.rotate(principal: "alice", overlap: 3600, actor: "test")
        #expect(rotation.retired?.accessKeyID == old.accessKeyID)
        #expect(rotation.retiresAt == fixture.clock.now.adding(seconds: 3600))
        #expect(try fixture.store.key(old.accessKeyID).state == .retiring(at: rotation.retiresAt))
        let new = try fixture.store.key(rotation.issued.accessKeyID)
        #expect(new.state == .active)
        #expect(new.scope == scope)
        #expect(new.description == "ci")
        #expect(try fixture.store._openSecret(keyID: new.accessKeyID) == rotation.issued.secretAccessKey)
        #expect(rotation.issued.secretAccessKey != old.secretAccessKey)
        // Rotating again retires the new key; the old one keeps its own retire time.
        fixture.clock.advance(10)
        let again = try fixture.store.rotate(principal: "alice", overlap: 60, actor: "test")
        #expect(again.retired?.accessKeyID == new.accessKeyID)
        #expect(try fixture.store.key(old.accessKeyID).state == .retiring(at: rotation.retiresAt))
    }

    @Test(arguments: Backend.allCases)
    func rotateWithSeveralActiveKeysNeedsTheKeyToRetire(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let a = try fixture.store.createKey(principal: "alice", actor: "test").accessKeyID
        let b = try fixture.store.createKey(principal: "alice", actor: "test").accessKeyID
        let before = try StoreSnapshot(fixture.store)
        expectError(.ambiguousRotation) { _ = try fixture.store.rotate(principal: "alice", actor: "test") }
        expectError(.unknownPrincipal) { _ = try fixture.store.rotate(principal: "nobody", actor: "test") }
        _ = try fixture.store.createKey(principal: "bob", actor: "test")
        let bobs = try fixture.store.keys(principal: "bob")[0].accessKeyID
        let afterBob = try StoreSnapshot(fixture.store)
        expectError(.invalidArgument) {
            _ = try fixture.store.rotate(principal: "alice", retiring: bobs, actor: "test")
        }
        #expect(try StoreSnapshot(fixture.store) == afterBob)
        #expect(afterBob.keys.count == before.keys.count + 1)
        let rotation = try fixture.store.rotate(principal: "alice", overlap: 0, retiring: b, actor: "test")
        #expect(rotation.retired?.accessKeyID == b)
        #expect(try fixture.store.key(a).state == .active)
    }

    @Test(arguments: Backend.allCases)
    func agePolicyReportsOnlyLiveKeysOlderThanTheLimit(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let old = try fixture.store.createKey(principal: "alice", actor: "test").accessKeyID
        let oldInactive = try makeKey(fixture.store, in: .inactive, principal: "bob")
        fixture.clock.advance(91 * 86_400)
        let fresh = try fixture.store.createKey(principal: "carol", actor: "test").accessKeyID
        let report = try fixture.store.agePolicyReport(maxAgeDays: 90)
        #expect(report.map(\.key.accessKeyID) == [old])
        #expect(report.first?.ageDays == 91)
        #expect(!report.contains { $0.key.accessKeyID == fresh || $0.key.accessKeyID == oldInactive })
    }

    @Test(arguments: Backend.allCases)
    func auditLogRecordsEveryChangeAndNeverASecret(backend: Backend) throws {
        let fixture = try Fixture(backend)
        var secrets: [String] = []
        let issued = try fixture.store.createKey(principal: "alice", actor: "ops@host")
        secrets.append(issued.secretAccessKey.revealForDisplay())
        let rotation = try fixture.store.rotate(principal: "alice", overlap: 5, actor: "ops@host")
        secrets.append(rotation.issued.secretAccessKey.revealForDisplay())
        try fixture.store.deactivate(keyID: issued.accessKeyID, actor: "ops@host")
        try fixture.store.delete(keyID: issued.accessKeyID, force: true, actor: "ops@host")
        let log = try fixture.store.auditLog()
        #expect(
            log.map(\.action) == [
                "principal.create", "masterkey.register", "key.create", "key.retire", "key.create", "key.deactivate",
                "key.delete",
            ])
        #expect(log.map(\.sequence) == Array(1...Int64(log.count)))
        #expect(log.allSatisfy { $0.actor == "ops@host" })
        let text = log.map { "\($0)" }.joined(separator: "\n")
        for secret in secrets { #expect(!text.contains(secret)) }
        #expect(try fixture.store.auditLog(after: 5).map(\.action) == ["key.deactivate", "key.delete"])
    }
}

@Suite struct ConcurrencyTests {
    @Test func concurrentWritersOnTwoConnectionsNeverExceedTheActiveKeyLimit() async throws {
        let fixture = try Fixture(.sqlite)
        let other = try fixture.secondInstance()
        let stores = [fixture.store, other]
        let outcomes = await withTaskGroup(of: String.self) { group in
            for i in 0..<24 {
                group.addTask {
                    do {
                        _ = try stores[i % 2].createKey(principal: "alice", actor: "writer\(i % 2)")
                        return "created"
                    } catch let error as KeyStoreError {
                        return error.code.name
                    } catch {
                        return "\(error)"
                    }
                }
            }
            var all: [String] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        #expect(outcomes.filter { $0 == "created" }.count == 2)
        #expect(outcomes.filter { $0 == "tooManyActiveKeys" }.count == 22, "\(outcomes)")
        #expect(try fixture.store.keys(principal: "alice").count == 2)
        #expect(try other.verifySecrets().isEmpty)
    }
}
