import Foundation

/// Which listed videos a run takes: by status, model and creation time. `since` also bounds the
/// paging (`ListCursor` stops at it, the list being newest first); the rest only filters.
package struct ListingFilter: Sendable, Equatable {
    /// The statuses kept (their API spelling); nil keeps every status.
    package var statuses: Set<String>?
    /// The models kept, compared without case; nil keeps every model.
    package var models: Set<String>?
    package var since: Date?
    /// Only videos created before this.
    package var until: Date?

    package init(statuses: Set<String>? = nil, models: Set<String>? = nil, since: Date? = nil, until: Date? = nil) {
        self.statuses = statuses
        self.models = models.map { Set($0.map { $0.lowercased() }) }
        self.since = since
        self.until = until
    }

    package func keeps(_ v: VideoObject) -> Bool {
        if let statuses, !statuses.contains(v.status.text) { return false }
        if let models, !models.contains((v.model ?? "").lowercased()) { return false }
        if let since, let created = v.createdAt, created < since { return false }
        if let until, let created = v.createdAt, created >= until { return false }
        // A video without a creation time cannot be placed in a window: left out of one.
        if (since != nil || until != nil) && v.createdAt == nil { return false }
        return true
    }
}
