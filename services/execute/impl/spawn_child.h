/* Starting one task process: shared by the fvce-exec launcher (fvce_exec.c) and the node's
 * direct spawner (direct_spawner.cpp), so that both start tasks the same way. */
#ifndef FVCE_SPAWN_CHILD_H
#define FVCE_SPAWN_CHILD_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whom a task runs as: set in the child before it execs (setgroups, setgid, setuid, in that
 * order, so it keeps no group of its starter). uid 0 is refused. */
struct fvce_spawn_identity {
  uid_t uid;
  gid_t gid;
  const gid_t* groups; /* supplementary groups */
  int n_groups;
};

/* Limits of a task's processes from its declared needs (setrlimit in the child); 0 = none.
 * Core dumps are always off. */
struct fvce_spawn_limits {
  unsigned long long data_bytes;  /* RLIMIT_DATA: heap and private mappings */
  unsigned long long cpu_seconds; /* RLIMIT_CPU: SIGXCPU, then SIGKILL a second later */
  /* The task's control groups (cgroup.h): the cgroup.procs files the child joins, before it
   * drops to `who` (NULL-terminated; NULL: none). */
  const char* const* cgroup_procs;
};

/* Starts program (an absolute path) with argv and envp (NULL-terminated) in a new process
 * group of its own, as `who` (NULL: as the caller), under `limits` (NULL: none), in
 * directory cwd (entered as `who`, so it must be theirs to enter), at nice level `nice_level` (0 = unchanged), with
 * default signal dispositions and an empty signal mask, stdin from /dev/null, stdout and
 * stderr to the descriptors out and err, no other descriptor inherited, and SIGKILL as its
 * parent-death signal (it dies with the process that started it). Returns its pid, or -1
 * with *error set to the errno of what failed.
 *
 * Uses vfork: the child borrows the caller's address space until it execs, so starting a
 * task costs no copy however large the caller is; every signal is blocked around it. Safe
 * in a multi-threaded caller: the child only makes system calls. Blocks the calling thread
 * until the child has exec'ed (or failed to). */
pid_t fvce_spawn_child(const char* program, char* const argv[], char* const envp[], const char* cwd,
                       int out, int err, int nice_level, const struct fvce_spawn_identity* who,
                       const struct fvce_spawn_limits* limits, int* error);

#ifdef __cplusplus
}
#endif

#endif
