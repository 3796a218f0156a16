#ifndef LUMENFALL_CARCHIVE_SHIM_H
#define LUMENFALL_CARCHIVE_SHIM_H

// libarchive from Debian's libarchive-dev. Its API is not variadic, so Swift calls it directly;
// LumenfallArchive is the only module that does.
#include <archive.h>
#include <archive_entry.h>

// The AE_IF* file types are cast macros, which Swift does not import.
static const unsigned int lf_ae_ifreg = AE_IFREG;
static const unsigned int lf_ae_ifdir = AE_IFDIR;
static const unsigned int lf_ae_iflnk = AE_IFLNK;

#endif
