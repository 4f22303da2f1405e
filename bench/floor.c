/*
 * The floors of a tree copy and of a re-sync on this machine: what the kernel work costs when
 * a program does nothing else. Two threads (one per core here) take the source's folders in
 * turn. A copy opens, reads and closes each file and writes it the way rsync and fcs both do —
 * into a temp name in its folder, then renamed. A stat lists each folder of both trees and
 * stats every entry in it (what any re-sync must learn: sizes and times of both sides). No
 * metadata, no verify, no sync, no compare, no error handling beyond stopping: a measuring
 * instrument for bench/run.py and bench/scale.py, not a tool.
 *
 *     floor SRC DST [THREADS]         copy (SRC: a folder of folders of files, as datasets c, d)
 *     floor --stat SRC DST [THREADS]  list and stat both trees (DST: SRC's copy)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *src, *dst;
static char **dirs;
static int ndirs;
static atomic_int next_dir;

static void die(const char *what, const char *name) {
    fprintf(stderr, "floor: %s %s: ", what, name);
    perror(NULL);
    exit(1);
}

static void copy_dir(const char *d) {
    char sp[4096], dp[4096], tmp[512];
    static _Thread_local char buf[1 << 20];
    snprintf(sp, sizeof sp, "%s/%s", src, d);
    snprintf(dp, sizeof dp, "%s/%s", dst, d);
    if (mkdir(dp, 0755)) die("mkdir", dp);
    int sfd = open(sp, O_RDONLY | O_DIRECTORY), dfd = open(dp, O_RDONLY | O_DIRECTORY);
    if (sfd < 0) die("open", sp);
    if (dfd < 0) die("open", dp);
    DIR *it = fdopendir(dup(sfd));
    struct dirent *e;
    while ((e = readdir(it))) {
        if (e->d_name[0] == '.') continue;
        int in = openat(sfd, e->d_name, O_RDONLY | O_NOFOLLOW);
        if (in < 0) die("open", e->d_name);
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) die("read", e->d_name);
        close(in);
        snprintf(tmp, sizeof tmp, ".%s.tmp", e->d_name);
        int out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (out < 0) die("create", tmp);
        if (write(out, buf, n) != n) die("write", tmp);
        close(out);
        if (renameat(dfd, tmp, dfd, e->d_name)) die("rename", tmp);
    }
    closedir(it);
    close(sfd);
    close(dfd);
}

static void stat_dir(const char *root, const char *d) {
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", root, d);
    int fd = open(p, O_RDONLY | O_DIRECTORY);
    if (fd < 0) die("open", p);
    DIR *it = fdopendir(fd);
    struct dirent *e;
    while ((e = readdir(it))) {
        if (e->d_name[0] == '.') continue;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW)) die("stat", e->d_name);
    }
    closedir(it);
}

static int stat_only;

static void *work(void *unused) {
    (void)unused;
    int i;
    while ((i = atomic_fetch_add(&next_dir, 1)) < ndirs) {
        if (stat_only) {
            stat_dir(src, dirs[i]);
            stat_dir(dst, dirs[i]);
        } else {
            copy_dir(dirs[i]);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    stat_only = argc > 1 && !strcmp(argv[1], "--stat");
    argv += stat_only;
    argc -= stat_only;
    if (argc < 3) {
        fprintf(stderr, "usage: floor [--stat] SRC DST [THREADS]\n");
        return 2;
    }
    src = argv[1];
    dst = argv[2];
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    if (threads < 1 || threads > 64) threads = 2;
    if (!stat_only && mkdir(dst, 0755)) die("mkdir", dst);
    DIR *it = opendir(src);
    if (!it) die("open", src);
    struct dirent *e;
    int cap = 1024;
    dirs = malloc(cap * sizeof *dirs);
    while ((e = readdir(it))) {
        if (e->d_name[0] == '.') continue;
        if (ndirs == cap) dirs = realloc(dirs, (cap *= 2) * sizeof *dirs);
        dirs[ndirs++] = strdup(e->d_name);
    }
    closedir(it);
    pthread_t t[64];
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return 0;
}
