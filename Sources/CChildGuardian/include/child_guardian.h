#ifndef RECETTE_CHILD_GUARDIAN_H
#define RECETTE_CHILD_GUARDIAN_H

#include <stdint.h>

/// Forks the guardian: a small process that outlives recette by a few seconds and ends the
/// process groups recette told it about (SIGTERM, then SIGKILL) once recette is gone, however
/// it went (kill -9 included: the kernel closes recette's end of the socket).
/// Returns recette's end of the socket (close-on-exec), or -1 with errno set.
/// Write int32 records to it: +pgid when a child group starts, -pgid when it is over.
int recette_child_guardian_start(int32_t grace_milliseconds);

#endif
