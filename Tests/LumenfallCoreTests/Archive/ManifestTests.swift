import Foundation
import Testing

@testable import LumenfallCore

@Suite struct ManifestTests {
    @Test func overflowingCostsAreUnknownAndTheManifestStillVerifies() throws {
        let pairs: [(Double?, String?)] = [(1e308, "USD"), (1e308, "USD"), (0.5, "EUR"), (nil, "USD")]
        let totals = Manifest.totalCost(pairs)
        #expect(totals == ["EUR": 0.5])
        var tally = BatchTally()
        for (i, (cost, currency)) in pairs.enumerated() {
            tally.add(
                id: "v\(i)", outcome: .saved(file: "v\(i).mp4", bytes: 1, sha256: ""),
                saved: SavedFacts(bytes: 1, cost: cost, currency: currency))
        }
        #expect(tally.cost == totals)
        #expect(tally.costUnknown == 3)
        let entry = Manifest.Entry(
            id: "v", file: "v.mp4", bytes: 1, sha256: String(repeating: "a", count: 64),
            sidecar: "v.json", sidecarBytes: 1, sidecarSHA256: String(repeating: "b", count: 64),
            model: nil, cost: 1e308, currency: "USD")
        let m = Manifest(part: 1, parts: 1, createdAt: 0, entries: [entry, entry], batch: nil)
        let json = try m.json()
        #expect(json.count > 10)
        #expect(Manifest.expectations(fromJSON: json) != nil)
    }
}
