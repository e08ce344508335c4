/* test_faults.c - faults during a run (issue 8, section 2).
 *
 *   disk_full          a 2 MB tmpfs fills at the second checkpoint, single
 *                      process and mpirun -np 2: exit 4, no signal, the first
 *                      checkpoint verifies, no temp file left, the metrics end
 *                      with the error record; full from the start: exit 4 and
 *                      the console says the metrics could not be written.
 *                      Skipped when tmpfs cannot be mounted (not root).
 *   stalled_rank       SIGSTOP to rank 1 under mpirun -np 2 --stall-timeout 10:
 *                      non-zero exit within 30 s naming rank 1; rank 0 used
 *                      little CPU while it waited; the periodic checkpoints
 *                      verify
 *   mpi_call_fails     RECUR_TEST_MPI_FAIL makes MPI_Iallreduce (on rank 1)
 *                      and MPI_Ibcast fail for real: non-zero exit, the
 *                      message names the call and the rank
 *   stale_temp_files   a temp file of a dead writer is removed at start, a
 *                      live writer's is kept
 *   killed_mid_write   kill -9 while a checkpoint is half written (held there
 *                      by RECUR_TEST_PAUSE_WRITE): its temp file is left, the
 *                      earlier checkpoints verify, and --resume removes the
 *                      temp file and finishes the run
 *   val_split_too_short  exit 2 at start naming --val-streams and --val-fraction
 *   removed_while_open a dataset removed after recur opened it (held there
 *                      by RECUR_TEST_PAUSE_OPEN) is reported as vanished,
 *                      not as damaged
 *
 * Every mpirun runs under `timeout`; what a test starts, it kills. */
#include "test_util.h"

#include <signal.h>
#include <sys/mount.h>

static char *dir;
static char data_h5[4200];
static char fs[4400]; /* the tmpfs mount point, when mounted */

#define MPIRUN "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout -k 5 60 mpirun --oversubscribe"
#define SMALL "--hidden 128 --layers 1 --batch 4 --bptt 16 --no-monitor --quiet"

static int setup(void **state) {
    (void)state;
    return tu_scratch_with_snippet(&dir, 40000, data_h5, sizeof data_h5);
}

static void unmount_fs(void) {
    if (fs[0] && umount2(fs, MNT_DETACH) != 0) fprintf(stderr, "warning: could not unmount %s\n", fs);
    fs[0] = 0;
}

static int teardown(void **state) {
    (void)state;
    unmount_fs();
    tu_scratch_remove(&dir);
    return 0;
}

static int mount_small_fs(void) {
    snprintf(fs, sizeof fs, "%s/fs", dir);
    mkdir(fs, 0777);
    if (mount("tmpfs", fs, "tmpfs", 0, "size=2M") != 0) {
        fs[0] = 0;
        return -1;
    }
    return 0;
}

/* 1 when `path` holds no ".*.tmp.*" entry. */
static int no_temp_files(const char *path) {
    char out[4096];
    tu_run(out, sizeof out, "ls -a '%s' | grep -c '\\.tmp\\.'", path);
    return atoi(out) == 0;
}

static void disk_fills(const char *launcher, const char *name) {
    char out[16384], run[4600];
    snprintf(run, sizeof run, "%s/%s", fs, name);
    /* Each checkpoint is 1.36 MB: the first fits in 2 MB, the second does not. */
    int rc = tu_run(out, sizeof out, "%s '%s' train --data '%s' " SMALL " --steps 40 --run-dir '%s' --checkpoint-every 5 --keep 10",
                    launcher, tu_recur(), data_h5, run);
    if (rc != 4 || !strstr(out, "disk full") || strstr(out, "Segmentation") || strstr(out, "signal"))
        fail_msg("%s: expected exit 4 with 'disk full' and no signal, got %d:\n%s", name, rc, out);
    char ckpt[4700];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt-00000005.h5", run);
    if (tu_run(out, sizeof out, "'%s' inspect --verify '%s'", tu_recur(), ckpt))
        fail_msg("%s: the earlier checkpoint does not verify:\n%s", name, out);
    if (!no_temp_files(run)) fail_msg("%s: a temp file was left in %s", name, run);
    tu_run(out, sizeof out, "tail -n 1 '%s/metrics.jsonl'", run);
    if (!strstr(out, "\"event\":\"error\"") || !strstr(out, "disk full"))
        fail_msg("%s: the metrics do not end with the error record: %s", name, out);
    tu_run(NULL, 0, "rm -rf '%s'", run);
}

static void test_disk_full(void **s) {
    (void)s;
    if (mount_small_fs()) skip();
    disk_fills("", "single");
    disk_fills(MPIRUN " -np 2", "mpi");

    /* Full from the start: nothing can be written, and the console says so. */
    char out[16384];
    tu_run(NULL, 0, "dd if=/dev/zero of='%s/fill' bs=4k 2>/dev/null", fs);
    int rc = tu_run(out, sizeof out, "'%s' train --data '%s' " SMALL " --steps 10 --run-dir '%s/full' --checkpoint-every 5",
                    tu_recur(), data_h5, fs);
    if (rc != 4 || !strstr(out, "metrics.jsonl: cannot write the error record") || strstr(out, "Segmentation"))
        fail_msg("full disk: expected exit 4 saying the error record could not be written, got %d:\n%s", rc, out);
    if (!no_temp_files(fs)) fail_msg("full disk: a temp file was left");
    unmount_fs();
}

/* mpirun -np 2 with --stall-timeout 10; once the checkpoint of step 10 is
 * there, rank 1 is stopped.  Prints RC=, MS= (stop to exit) and CPU= (rank
 * 0's CPU ticks over 3 s of waiting), then the job's output. */
static const char *STALL_SCRIPT =
    "cd '%s' && rm -rf stall && { " MPIRUN " -np 2 '%s' train --data '%s' " SMALL
    " --steps 1000000 --run-dir \"$PWD/stall\" --checkpoint-every 5 --keep 100 --stall-timeout 10 > stall.log 2>&1 & mp=$!; }; "
    "for i in $(seq 300); do [ -e stall/ckpt-00000010.h5 ] && break; sleep 0.1; done; "
    "rank() { for d in /proc/[0-9]*; do grep -qa -- \"$PWD/stall\" $d/cmdline 2>/dev/null && "
    "tr '\\0' '\\n' < $d/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=$1 && echo ${d#/proc/}; done; }; "
    "r0=$(rank 0); r1=$(rank 1); kill -STOP $r1; t0=$(date +%%s%%N); "
    "sleep 4; c0=$(cut -d' ' -f14,15 /proc/$r0/stat | tr ' ' +); sleep 3; c1=$(cut -d' ' -f14,15 /proc/$r0/stat | tr ' ' +); "
    "wait $mp; rc=$?; t1=$(date +%%s%%N); "
    "kill -CONT $r1 2>/dev/null; kill -KILL $r0 $r1 2>/dev/null; "
    "echo \"RC=$rc MS=$(( (t1 - t0) / 1000000 )) CPU=$(( ($c1) - ($c0) ))\"; cat stall.log";

static void test_stalled_rank(void **s) {
    (void)s;
    char out[16384];
    tu_run(out, sizeof out, STALL_SCRIPT, dir, tu_recur(), data_h5);
    const char *res = strstr(out, "RC=");
    int rc = -1, ms = -1, cpu = -1;
    if (!res || sscanf(res, "RC=%d MS=%d CPU=%d", &rc, &ms, &cpu) != 3) fail_msg("stall: no result:\n%s", out);
    print_message("  stall: exit %d %d ms after SIGSTOP; rank 0 used %d CPU ticks in 3 s of waiting\n", rc, ms, cpu);
    if (rc == 0 || ms > 30000) fail_msg("stall: expected non-zero within 30 s, got %d after %d ms:\n%s", rc, ms, out);
    if (!strstr(out, "rank 0: stalled for") || !strstr(out, "waiting for rank 1 (no reply; last heard at step"))
        fail_msg("stall: the message does not name rank 1:\n%s", out);
    if (cpu > 60) fail_msg("stall: rank 0 burnt %d ticks of CPU in 3 s while waiting", cpu);
    char path[4400];
    snprintf(path, sizeof path, "%s/stall/ckpt-00000010.h5", dir);
    if (tu_run(out, sizeof out, "'%s' inspect --verify '%s'", tu_recur(), path))
        fail_msg("stall: the periodic checkpoint does not verify:\n%s", out);
}

static void fail_call(const char *spec, const char *expect) {
    char out[16384];
    int rc = tu_run(out, sizeof out, "RECUR_TEST_MPI_FAIL=%s " MPIRUN " -x RECUR_TEST_MPI_FAIL -np 2 '%s' train --data '%s' " SMALL
                    " --steps 5 --out '%s/mpifail.h5'", spec, tu_recur(), data_h5, dir);
    if (rc == 0 || rc == 124 || !strstr(out, expect))
        fail_msg("%s: expected a non-zero exit and '%s', got %d:\n%s", spec, expect, rc, out);
}

static void test_mpi_call_fails(void **s) {
    (void)s;
    fail_call("MPI_Iallreduce@1", "recur train: rank 1: MPI_Iallreduce failed: MPI_ERR_COUNT");
    fail_call("MPI_Ibcast", "recur train: rank 0: MPI_Ibcast failed: MPI_ERR_COUNT");
}

/* A pid that no longer exists: a child that has exited and been reaped. */
static long dead_pid(void) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

static void test_stale_temp_files(void **s) {
    (void)s;
    char run[4400], dead[4600], live[4600], out[16384];
    snprintf(run, sizeof run, "%s/stale", dir);
    mkdir(run, 0777);
    snprintf(dead, sizeof dead, "%s/.ckpt-00000005.h5.tmp.%ld", run, dead_pid());
    snprintf(live, sizeof live, "%s/.ckpt-00000010.h5.tmp.%ld", run, (long)getpid());
    tu_run(NULL, 0, "echo partial > '%s'; echo partial > '%s'", dead, live);
    int rc = tu_run(out, sizeof out, "'%s' train --data '%s' " SMALL " --steps 3 --run-dir '%s'", tu_recur(), data_h5, run);
    if (rc) fail_msg("stale: exit %d:\n%s", rc, out);
    if (tu_exists(dead) || !strstr(out, "left by a checkpoint write that did not finish"))
        fail_msg("stale: the dead writer's temp file was not removed (or not said):\n%s", out);
    if (!tu_exists(live)) fail_msg("stale: a live writer's temp file was removed");
}

/* A run to step 10 (checkpoints 5 and 10, final.h5), then a resume to 20
 * whose first write, the checkpoint of step 15, stops halfway for 60 s: it is
 * killed there with SIGKILL.  Prints RC= (the killed run's exit) and TMP=
 * (its temp file), then the run dir's listing. */
static const char *KILL_SCRIPT =
    "cd '%s' && rm -rf killed && R='%s' && "
    "$R train --data '%s' " SMALL " --steps 10 --run-dir \"$PWD/killed\" --checkpoint-every 5 > first.log 2>&1 || "
    "{ echo FIRST FAILED; cat first.log; exit 1; }; "
    "{ RECUR_TEST_PAUSE_WRITE=60@1 timeout -k 5 90 $R train --resume \"$PWD/killed\" --steps 20 --quiet > killed.log 2>&1 & "
    "pid=$!; }; "
    "for i in $(seq 600); do tmp=$(ls killed/.ckpt-00000015.h5.tmp.* 2>/dev/null) && [ -s \"$tmp\" ] && break; "
    "tmp=; sleep 0.05; done; "
    "[ -n \"$tmp\" ] && kill -KILL ${tmp##*.tmp.}; wait $pid; echo \"RC=$? TMP=$tmp\"; ls -a killed; cat killed.log";

static void test_killed_mid_write(void **s) {
    (void)s;
    char out[16384], tmp[4400] = "", path[4600];
    tu_run(out, sizeof out, KILL_SCRIPT, dir, tu_recur(), data_h5);
    const char *res = strstr(out, "RC=");
    int rc = -1;
    if (!res || sscanf(res, "RC=%d TMP=%4399s", &rc, tmp) != 2) fail_msg("kill: no temp file seen:\n%s", out);
    /* The killed writer: SIGKILL, not an exit of its own nor the 90 s timeout. */
    if (rc != 128 + SIGKILL) fail_msg("kill: expected the writer killed (exit %d), got %d:\n%s", 128 + SIGKILL, rc, out);
    snprintf(path, sizeof path, "%s/%s", dir, tmp);
    if (!tu_exists(path)) fail_msg("kill: the killed writer's temp file %s is not there:\n%s", tmp, out);
    snprintf(path, sizeof path, "%s/killed/ckpt-00000015.h5", dir);
    if (tu_exists(path)) fail_msg("kill: the half-written checkpoint was renamed into place");
    const char *earlier[] = {"ckpt-00000005.h5", "ckpt-00000010.h5", "final.h5"};
    for (size_t i = 0; i < sizeof earlier / sizeof earlier[0]; i++) {
        snprintf(path, sizeof path, "%s/killed/%s", dir, earlier[i]);
        if (tu_run(out, sizeof out, "'%s' inspect --verify '%s'", tu_recur(), path))
            fail_msg("kill: %s does not verify after the kill:\n%s", earlier[i], out);
    }
    /* The resume that follows removes the dead writer's temp file and finishes. */
    rc = tu_run(out, sizeof out, "cd '%s' && timeout -k 5 120 '%s' train --resume \"$PWD/killed\" --steps 20 --quiet",
                dir, tu_recur());
    if (rc) fail_msg("kill: the resume after the kill failed with %d:\n%s", rc, out);
    if (!strstr(out, "left by a checkpoint write that did not finish"))
        fail_msg("kill: the resume did not say it removed the temp file:\n%s", out);
    snprintf(path, sizeof path, "%s/%s", dir, tmp);
    if (tu_exists(path)) fail_msg("kill: the resume left %s", tmp);
    snprintf(path, sizeof path, "%s/killed", dir);
    if (!no_temp_files(path)) fail_msg("kill: a temp file is left in the run dir after the resume");
    const char *after[] = {"ckpt-00000015.h5", "ckpt-00000020.h5", "final.h5"};
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
        snprintf(path, sizeof path, "%s/killed/%s", dir, after[i]);
        if (tu_run(out, sizeof out, "'%s' inspect --verify '%s'", tu_recur(), path))
            fail_msg("kill: %s does not verify after the resume:\n%s", after[i], out);
    }
    snprintf(path, sizeof path, "%s/killed/final.h5", dir);
    tu_run(out, sizeof out, "'%s' inspect --json '%s'", tu_recur(), path);
    if (tu_json_number(out, "step") != 20) fail_msg("kill: final.h5 is not at step 20:\n%.2000s", out);
}

static void test_val_split_too_short(void **s) {
    (void)s;
    char out[16384], small[4400];
    snprintf(small, sizeof small, "%s/tinyval.h5", dir);
    if (tu_run(out, sizeof out, "'%s' data text '%s/snippet.txt' '%s' --val-fraction 0.0005", tu_recur(), dir, small))
        fail_msg("data: %s", out);
    int rc = tu_run(out, sizeof out, "'%s' train --data '%s' " SMALL " --steps 3 --val-streams 16 --out '%s/v.h5'",
                    tu_recur(), small, dir);
    if (rc != 2 || !strstr(out, "--val-streams") || !strstr(out, "--val-fraction") || !strstr(out, "/val_tokens"))
        fail_msg("val split: expected exit 2 naming --val-streams and --val-fraction, got %d:\n%s", rc, out);
    if (tu_exists(small) && strstr(out, "step 1")) fail_msg("val split: training started:\n%s", out);
}

static void test_removed_while_open(void **s) {
    (void)s;
    char out[16384], copy[4400];
    snprintf(copy, sizeof copy, "%s/going.h5", dir);
    if (tu_run(out, sizeof out, "cp '%s' '%s'", data_h5, copy)) fail_msg("cp: %s", out);
    int rc = tu_run(out, sizeof out, "(sleep 0.5; rm '%s') & RECUR_TEST_PAUSE_OPEN=1.5 '%s' inspect '%s'; s=$?; wait; exit $s",
                    copy, tu_recur(), copy);
    if (tu_exists(copy)) fail_msg("removed_while_open: the file was not removed during the pause");
    if (rc != 3 || !strstr(out, "going.h5: the file vanished (removed while it was being read)") || strstr(out, "damaged"))
        fail_msg("removed_while_open: expected exit 3 saying the file vanished, got exit %d:\n%s", rc, out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_stalled_rank),
        cmocka_unit_test(test_mpi_call_fails),
        cmocka_unit_test(test_stale_temp_files),
        cmocka_unit_test(test_killed_mid_write),
        cmocka_unit_test(test_val_split_too_short),
        cmocka_unit_test(test_removed_while_open),
    };
    /* TEST_FILTER=test_stall* runs only the matching tests. */
    if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
