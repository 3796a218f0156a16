import Foundation
import Testing

@testable import LumenfallCore

@Suite struct RecentIDsTests {
    @Test func repeatsAreDroppedAndTheOldestIsForgottenFirst() {
        var r = RecentIDs(limit: 3)
        do {
            let fresh = r.insert("a")
            #expect(fresh)
        }
        do {
            let fresh = r.insert("a")
            #expect(!fresh)
        }
        do {
            let fresh = r.insert("b")
            #expect(fresh)
        }
        do {
            let fresh = r.insert("c")
            #expect(fresh)
        }
        do {
            let fresh = r.insert("d")
            #expect(fresh)  // "a" is forgotten
        }
        do {
            let fresh = r.insert("b")
            #expect(!fresh)
        }
        do {
            let fresh = r.insert("d")
            #expect(!fresh)
        }
        do {
            let fresh = r.insert("a")
            #expect(fresh)  // let through again, "b" forgotten now
        }
        do {
            let fresh = r.insert("b")
            #expect(fresh)
        }
    }

    @Test func manyDistinctIdsAreAllNew() {
        var r = RecentIDs(limit: 100_000)
        var fresh = 0
        for i in 0..<150_000 where r.insert("video_\(i)") { fresh += 1 }
        #expect(fresh == 150_000)
        do {
            let fresh = r.insert("video_149999")
            #expect(!fresh)
        }
    }
}
