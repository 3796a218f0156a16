import CArchive

/// The libarchive this process runs with, e.g. "libarchive 3.6.2".
public let libarchiveVersion: String = String(cString: archive_version_string())
