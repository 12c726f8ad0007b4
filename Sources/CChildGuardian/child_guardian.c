// The guardian runs in a child forked from a multi-threaded process: until it exits it may
// only call async-signal-safe functions (no malloc, no stdio, no locks).
#define _GNU_SOURCE
#include "child_guardian.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { max_groups = 4096 };

static void close_all_but(int keep) {
    // Descriptors inherited from recette (other children's pipes, its standard output) would
    // keep those open for as long as the guardian lives: readers would wait for end-of-file.
#ifdef SYS_close_range
    if ((keep == 0 || syscall(SYS_close_range, 0u, (unsigned)keep - 1, 0u) == 0)
        && syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0) {
        return;
    }
#endif
    for (int fd = 0; fd < 65536; fd++) {
        if (fd != keep) close(fd);
    }
}

static void sleep_milliseconds(long milliseconds) {
    struct timespec delay = { milliseconds / 1000, (milliseconds % 1000) * 1000000L };
    while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {}
}

static void guard(int input, int32_t grace_milliseconds) {
    pid_t groups[max_groups];
    int count = 0;
    int32_t record = 0;
    size_t filled = 0;
    for (;;) {
        ssize_t got = read(input, (char *)&record + filled, sizeof record - filled);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;  // recette is gone (or the socket broke: the same to us)
        filled += (size_t)got;
        if (filled < sizeof record) continue;
        filled = 0;
        if (record > 0 && count < max_groups) {
            groups[count++] = (pid_t)record;
        } else if (record < 0) {
            for (int i = 0; i < count; i++) {
                if (groups[i] == (pid_t)-record) { groups[i] = groups[--count]; break; }
            }
        }
    }
    if (count == 0) return;
    for (int i = 0; i < count; i++) kill(-groups[i], SIGTERM);
    for (int32_t waited = 0; waited < grace_milliseconds; waited += 100) {
        int alive = 0;
        for (int i = 0; i < count; i++) {
            if (kill(-groups[i], 0) == 0) alive = 1;
        }
        if (!alive) return;
        sleep_milliseconds(100);
    }
    for (int i = 0; i < count; i++) kill(-groups[i], SIGKILL);
}

int recette_child_guardian_start(int32_t grace_milliseconds) {
    int ends[2];
    // A socket rather than a pipe: recette writes with MSG_NOSIGNAL, so a dead guardian is
    // an error to ignore, not a SIGPIPE.
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(ends[0]);
        close(ends[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        close_all_but(ends[0]);
        // Its own session: Ctrl-C and a closed terminal are recette's to handle, and a
        // `kill -- -PGID` aimed at recette's group leaves the guardian to do its job.
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        guard(ends[0], grace_milliseconds);
        _exit(0);
    }
    close(ends[0]);
    return ends[1];
}
