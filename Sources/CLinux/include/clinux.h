#ifndef LUMENFALL_CLINUX_H
#define LUMENFALL_CLINUX_H

#include <stdint.h>

// Linux calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module does not
// see. The definitions (in clinux.c) set it.

// Starts writing back the dirty pages of [offset, offset + count) of fd, without waiting for
// them (sync_file_range with SYNC_FILE_RANGE_WRITE). Returns 0, or -1 with errno set.
int lf_start_writeback(int fd, int64_t offset, int64_t count);

#endif
