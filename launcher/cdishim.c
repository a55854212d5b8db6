/*
 * cdishim: the program container engines run, compiled for its start-up time.
 *
 * It does what the sh launcher bin/cdishim does, rule for rule (the two are
 * tested against one table, tests/runc_argv_cases.json), and one thing more:
 *
 *   - a command that only goes to runc is exec'ed to the low-level runtime
 *     recorded by Python in $CDISHIM_CACHE_DIR/runtime (/run/cdishim/runtime),
 *     when that record can be trusted;
 *   - `create` and `run` are first offered to the resident injector named in
 *     the record: the bundle directory goes over its unix socket as an open
 *     file descriptor. When it answers "injected" or "nothing" within
 *     INJECTOR_TIMEOUT_MS, runc is exec'ed at once; on "fallback", silence,
 *     a dead or missing socket, or anything unexpected, the in-process Python
 *     path runs instead, and it alone words errors;
 *   - everything else, and every case of doubt, goes to the Python cdishim
 *     was installed with; with -S and the sys.path the record names, when
 *     that Python wrote it through this launcher;
 *   - run by the name cdishim-hook (argv[0] of the hook entries cdishim
 *     writes), it starts the hook wrapper in that Python, the same way.
 *
 * libc only. Build: cc -std=c99 -O2 -Wall -Wextra -Werror -o cdishim cdishim.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CACHE_DIR "/run/cdishim"
#define DEFAULT_SETTINGS_FILE "/etc/cdishim/config.toml"
#define PROTOCOL "cdishim-inject 1"
#define INJECTOR_TIMEOUT_MS 2000
#define RECORD_MAX 16384

/* The Python entry points. The first argument is the sys.path recorded by a full start (then
 * Python runs with -S: no site import, no .pth files), or "" for a usual start. Recorded paths
 * gone stale fall back to the usual ones; a Python that cannot import cdishim at all execs this
 * launcher again, which reports it (CDISHIM_BOOT_ERROR). The runtime's is bin/cdishim's. */
#define BOOTSTRAP_IMPORTING(module) \
    "import os, sys\n" \
    "paths, usual = sys.argv.pop(1), sys.path[:]\n" \
    "try:\n" \
    "    if paths:\n" \
    "        sys.path[:] = paths.split(':')\n" \
    "    from " module " import main\n" \
    "except ImportError as err:\n" \
    "    try:\n" \
    "        if not paths:\n" \
    "            raise\n" \
    "        sys.path[:] = usual\n" \
    "        for name in [name for name in sys.modules if name.split('.')[0] == 'cdishim']:\n" \
    "            del sys.modules[name]\n" \
    "        import site\n" \
    "        site.main()\n" \
    "        from " module " import main\n" \
    "    except ImportError as err:\n" \
    "        os.environ['CDISHIM_BOOT_ERROR'] = '%s cannot import cdishim (%s); reinstall cdishim' % (sys.executable, err)\n" \
    "        os.execv(sys.argv[1], sys.argv[1:])\n"
static const char RUNTIME_BOOTSTRAP[] = BOOTSTRAP_IMPORTING("cdishim.shim.main") "main(sys.argv[1:])";
static const char HOOK_BOOTSTRAP[] = BOOTSTRAP_IMPORTING("cdishim.hooks.main") "sys.exit(main(sys.argv[2:]))";

static const char *log_path, *log_format; /* runc's --log and --log-format, for fail() */
static char self[PATH_MAX];               /* this program, symlinks resolved */

/* One line on stderr and, as runc would, in its --log file; then exit 1. */
static void fail(const char *message)
{
    fprintf(stderr, "cdishim: %s\n", message);
    if (log_path && *log_path) {
        FILE *log = fopen(log_path, "a");
        if (log) {
            char stamp[32];
            time_t now = time(NULL);
            strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
            int json = log_format && strcmp(log_format, "json") == 0;
            fputs(json ? "{\"level\":\"error\",\"msg\":\"cdishim: " : "time=\"", log);
            if (!json)
                fprintf(log, "%s\" level=error msg=\"cdishim: ", stamp);
            for (const char *c = message; *c; c++) { /* a JSON string, without control characters */
                if (*c == '"' || *c == '\\')
                    fputc('\\', log);
                if ((unsigned char)*c >= 0x20)
                    fputc(*c, log);
            }
            if (json)
                fprintf(log, "\",\"time\":\"%s\"}\n", stamp);
            else
                fputs("\"\n", log);
            fclose(log);
        }
    }
    exit(1);
}

/* --- runc's command line (the rules of src/cdishim/shim/argv.py) ------------------------ */

struct flag { const char *name; int takes_value; };

static const struct flag GLOBAL_FLAGS[] = {
    {"debug", 0}, {"log", 1}, {"log-format", 1}, {"root", 1}, {"criu", 1}, {"systemd-cgroup", 0},
    {"rootless", 1}, {"help", 0}, {"h", 0}, {"version", 0}, {"v", 0}, {NULL, 0}};
static const struct flag CREATE_FLAGS[] = {
    {"bundle", 1}, {"b", 1}, {"console-socket", 1}, {"pidfd-socket", 1}, {"pid-file", 1}, {"no-pivot", 0},
    {"no-new-keyring", 0}, {"preserve-fds", 1}, {"detach", 0}, {"d", 0}, {"keep", 0}, {"no-subreaper", 0},
    {NULL, 0}};

/* Read flags from argv[i...]; returns the index of the first argument that is not one, or -1
 * when an unknown flag (or a missing value) makes the rest unparseable. *on_flag sees each. */
static int read_flags(int argc, char **argv, int i, const struct flag *known,
                      void (*on_flag)(const char *name, const char *value))
{
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0)
            return i + 1;
        if (arg[0] != '-' || arg[1] == '\0')
            return i;
        const char *name = arg[1] == '-' ? arg + 2 : arg + 1;
        const char *equals = strchr(name, '=');
        size_t length = equals ? (size_t)(equals - name) : strlen(name);
        const struct flag *flag = known;
        while (flag->name && !(strlen(flag->name) == length && strncmp(flag->name, name, length) == 0))
            flag++;
        if (!flag->name)
            return -1;
        const char *value = equals ? equals + 1 : "";
        if (flag->takes_value && !equals) {
            if (i + 1 >= argc)
                return -1;
            value = argv[++i];
        }
        if (on_flag)
            on_flag(flag->name, value);
    }
    return i;
}

static int version_flag;
static void on_global_flag(const char *name, const char *value)
{
    if (strcmp(name, "log") == 0)
        log_path = value;
    else if (strcmp(name, "log-format") == 0)
        log_format = value;
    else if (strcmp(name, "version") == 0 || strcmp(name, "v") == 0)
        version_flag = 1;
}

static const char *bundle = ".";
static void on_create_flag(const char *name, const char *value)
{
    if (strcmp(name, "bundle") == 0 || strcmp(name, "b") == 0)
        bundle = *value ? value : ".";
}

/* --- the runtime record (src/cdishim/oci/runtime_record.py) ------------------------------ */

struct record {
    const char *config, *path, *runtime, *injector, *launcher, *python, *syspath;
    char text[RECORD_MAX];
};

static int newer(const struct stat *record, const char *path)
{
    struct stat other;
    return stat(path, &other) != 0 || record->st_mtime > other.st_mtime; /* absent: nothing to be newer than */
}

/* *value* is what follows *prefix* on a *line* that starts with it. */
static void take(char *line, const char *prefix, const char **value)
{
    size_t length = strlen(prefix);
    if (strncmp(line, prefix, length) == 0)
        *value = line + length;
}

/* The record, if it can be trusted at all: ours, regular, in a directory of ours, newer than
 * the config and this launcher. */
static int read_record(struct record *rec)
{
    const char *dir = getenv("CDISHIM_CACHE_DIR");
    const char *config = getenv("CDISHIM_CONFIG");
    char path[PATH_MAX];
    struct stat info;
    memset(rec, 0, offsetof(struct record, text));
    if (!dir)
        dir = DEFAULT_CACHE_DIR;
    if (!config || !*config)
        config = DEFAULT_SETTINGS_FILE;
    if (!*dir || stat(dir, &info) != 0 || info.st_uid != geteuid())
        return 0;
    if (snprintf(path, sizeof path, "%s/runtime", dir) >= (int)sizeof path)
        return 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t size = fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == geteuid()
                       ? read(fd, rec->text, sizeof rec->text - 1) : -1;
    close(fd);
    if (size <= 0 || size != info.st_size || !newer(&info, config) || !newer(&info, self))
        return 0; /* a record larger than RECORD_MAX, or read short, is not used */
    rec->text[size] = '\0';
    for (char *line = strtok(rec->text, "\n"); line; line = strtok(NULL, "\n")) {
        take(line, "config=", &rec->config);
        take(line, "path=", &rec->path);
        take(line, "runtime=", &rec->runtime);
        take(line, "injector=", &rec->injector);
        take(line, "launcher=", &rec->launcher);
        take(line, "python=", &rec->python);
        take(line, "syspath=", &rec->syspath);
    }
    return 1;
}

/* Whether a trusted *rec* names the runtime for this config and PATH, and it is executable. */
static int knows_runtime(const struct record *rec)
{
    const char *config = getenv("CDISHIM_CONFIG"), *search_path = getenv("PATH");
    if (!config || !*config)
        config = DEFAULT_SETTINGS_FILE;
    return rec->config && strcmp(rec->config, config) == 0 && rec->path
           && strcmp(rec->path, search_path ? search_path : "") == 0 && rec->runtime && *rec->runtime
           && access(rec->runtime, X_OK) == 0;
}

static void to_runtime(const struct record *rec, char **argv)
{
    char message[PATH_MAX + 128];
    setenv("CDISHIM_HANDED_OVER_TO", rec->runtime, 1);
    argv[0] = (char *)rec->runtime;
    execv(rec->runtime, argv);
    snprintf(message, sizeof message, "cannot execute %s: %s", rec->runtime, strerror(errno));
    fail(message); /* as Python's exec of the runtime words it */
}

/* --- the resident injector (src/cdishim/injector/protocol.py) ---------------------------- */

static size_t add_field(char *buffer, size_t used, size_t size, const char *name, const char *value)
{
    int n = snprintf(buffer + used, size - used, "%s=%s", name, value);
    return n < 0 || (size_t)n + 1 > size - used ? size : used + (size_t)n + 1; /* keep the NUL */
}

/* Milliseconds left until *deadline* (CLOCK_MONOTONIC), at least 0. */
static int remaining_ms(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec) / 1000000;
    return left < 0 ? 0 : (int)left;
}

/* Whether the process listening at the other end of *sock* is root or this user. */
static int trusted_peer(int sock)
{
    struct ucred peer;
    socklen_t size = sizeof peer;
    return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &peer, &size) == 0 && (peer.uid == 0 || peer.uid == geteuid());
}

/* 1 when the injector injected the bundle's devices (or found none asked for), else 0. Connect,
 * send and the wait for the reply share one deadline: a busy or hung injector costs at most
 * INJECTOR_TIMEOUT_MS, a full accept queue nothing. */
static int ask_injector(const struct record *rec)
{
    char request[8192], reply[512];
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    struct timespec deadline;
    if (!rec->injector || !*rec->injector || strlen(rec->injector) >= sizeof address.sun_path)
        return 0;
    strcpy(address.sun_path, rec->injector);
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += INJECTOR_TIMEOUT_MS / 1000;
    deadline.tv_nsec += (INJECTOR_TIMEOUT_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int dir = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int done = 0;
    if (dir >= 0 && sock >= 0 && connect(sock, (struct sockaddr *)&address, sizeof address) == 0
        && trusted_peer(sock)) {
        size_t used = strlen(PROTOCOL) + 1;
        memcpy(request, PROTOCOL, used);
        const char *config = getenv("CDISHIM_CONFIG");
        used = add_field(request, used, sizeof request, "launcher", self);
        used = add_field(request, used, sizeof request, "runtime", rec->runtime);
        used = add_field(request, used, sizeof request, "config", config && *config ? config : DEFAULT_SETTINGS_FILE);
        if (getenv("CDI_SPEC_DIRS"))
            used = add_field(request, used, sizeof request, "spec-dirs", getenv("CDI_SPEC_DIRS"));
        if (getenv("CDISHIM_CACHE_DIR"))
            used = add_field(request, used, sizeof request, "cache-dir", getenv("CDISHIM_CACHE_DIR"));
        char control[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec data = {.iov_base = request, .iov_len = used};
        struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = control,
                                 .msg_controllen = sizeof control};
        struct cmsghdr *rights = CMSG_FIRSTHDR(&message);
        rights->cmsg_level = SOL_SOCKET;
        rights->cmsg_type = SCM_RIGHTS;
        rights->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(rights), &dir, sizeof(int));
        struct pollfd writable = {.fd = sock, .events = POLLOUT}, readable = {.fd = sock, .events = POLLIN};
        if (used < sizeof request && poll(&writable, 1, remaining_ms(&deadline)) == 1
            && sendmsg(sock, &message, MSG_NOSIGNAL) == (ssize_t)used
            && poll(&readable, 1, remaining_ms(&deadline)) == 1) {
            ssize_t size = recv(sock, reply, sizeof reply - 1, 0);
            if (size > 0) {
                reply[size] = '\0';
                reply[strcspn(reply, "\n")] = '\0';
                done = strcmp(reply, "injected") == 0 || strcmp(reply, "nothing") == 0;
            }
        }
    }
    if (sock >= 0)
        close(sock);
    if (dir >= 0)
        close(dir);
    return done;
}

/* --- the Python cdishim was installed with (as find_python in bin/cdishim) --------------- */

static void first_word(char *text)
{
    char *start = text + strspn(text, " \t");
    memmove(text, start, strlen(start) + 1);
    text[strcspn(text, " \t\r\n")] = '\0';
}

static void find_python(char *python, size_t size)
{
    char dir[PATH_MAX], path[PATH_MAX + 32], lines[2][PATH_MAX + 32] = {"", ""};
    snprintf(dir, sizeof dir, "%s", self);
    char *slash = strrchr(dir, '/');
    if (!slash) { /* where this program is cannot be told */
        snprintf(python, size, "/usr/bin/python3");
        return;
    }
    *slash = '\0';
    snprintf(path, sizeof path, "%s/../pyvenv.cfg", dir);
    if (access(path, F_OK) == 0) {
        snprintf(python, size, "%s/python3", dir);
        return;
    }
    snprintf(path, sizeof path, "%s/cdishim-hook", dir);
    FILE *hook = fopen(path, "r");
    if (!hook) {
        snprintf(python, size, "/usr/bin/python3");
        return;
    }
    for (int i = 0; i < 2 && fgets(lines[i], sizeof lines[i], hook); i++) {
    }
    fclose(hook);
    char command[sizeof lines[0]]; /* the #! line after "#!", before first_word cuts it */
    memcpy(command, lines[0] + (strncmp(lines[0], "#!", 2) == 0 ? 2 : 0), sizeof command - 2);
    command[sizeof command - 2] = '\0';
    char *interpreter = lines[0] + (strncmp(lines[0], "#!", 2) == 0 ? 2 : 0);
    first_word(interpreter);
    const char *base = strrchr(interpreter, '/') ? strrchr(interpreter, '/') + 1 : interpreter;
    if (strcmp(base, "sh") == 0 && strncmp(lines[1], "'''exec' ", 9) == 0) { /* pip's form for long paths */
        interpreter = lines[1] + 9;
        if (*interpreter == '"') {
            interpreter++;
            interpreter[strcspn(interpreter, "\"")] = '\0';
        } else {
            first_word(interpreter);
        }
    } else if (strcmp(base, "env") == 0) { /* #!/usr/bin/env python3: let execvp search PATH */
        char *rest = command + strspn(command, " \t");
        interpreter = rest + strcspn(rest, " \t");
        first_word(interpreter);
    }
    snprintf(python, size, "%.*s", (int)size - 1, interpreter);
}

/* Run *bootstrap* in cdishim's Python; with -S and the recorded sys.path when a trusted *rec*
 * was written through this launcher by this same interpreter (its sys.executable: the path this
 * launcher runs it by, so two venvs on one base interpreter are told apart). */
static void to_python(const char *bootstrap, char **argv, int argc, const struct record *rec)
{
    char python[PATH_MAX + 32], target[PATH_MAX] = "", message[3 * PATH_MAX];
    const char *forced = getenv("CDISHIM_PYTHON");
    if (forced && *forced)
        snprintf(python, sizeof python, "%s", forced);
    else
        find_python(python, sizeof python);
    int fast = rec && rec->launcher && strcmp(rec->launcher, self) == 0 && rec->syspath && *rec->syspath
               && rec->python && python[0] == '/' && strcmp(python, rec->python) == 0;
    char **args = calloc((size_t)argc + 7, sizeof *args), **arg = args;
    if (!args)
        fail("out of memory");
    *arg++ = python;
    *arg++ = "-I";
    if (fast)
        *arg++ = "-S";
    *arg++ = "-c";
    *arg++ = (char *)bootstrap;
    *arg++ = fast ? (char *)rec->syspath : "";
    *arg++ = self;
    memcpy(arg, argv + 1, (size_t)(argc - 1) * sizeof *args);
    if (strchr(python, '/'))
        execv(python, args);
    else if (*python)
        execvp(python, args);
    ssize_t link = readlink(python, target, sizeof target - 1); /* a venv whose Python was removed */
    if (link > 0)
        target[link] = '\0';
    snprintf(message, sizeof message, "the Python cdishim was installed with, %s, is missing%s%s%s; reinstall cdishim",
             *python ? python : "(none named)", link > 0 ? " (a link to " : "", link > 0 ? target : "", link > 0 ? ")" : "");
    fail(message);
}

/* The name runc runs this program by in the hook entries cdishim writes: the hook wrapper. */
static int called_as_hook(const char *argv0)
{
    const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
    return strcmp(base, "cdishim-hook") == 0;
}

int main(int argc, char **argv)
{
    struct record rec;
    if (!realpath("/proc/self/exe", self))
        snprintf(self, sizeof self, "%s", argv[0]);
    int position = read_flags(argc, argv, 1, GLOBAL_FLAGS, on_global_flag);
    if (getenv("CDISHIM_BOOT_ERROR"))
        fail(getenv("CDISHIM_BOOT_ERROR")); /* a Python that could not import cdishim came back */
    const struct record *trusted = read_record(&rec) ? &rec : NULL;
    if (called_as_hook(argv[0]))
        to_python(HOOK_BOOTSTRAP, argv, argc, trusted);
    if (getenv("CDISHIM_HANDED_OVER_TO"))
        to_python(RUNTIME_BOOTSTRAP, argv, argc, trusted); /* a runtime that calls cdishim again: Python reports the loop */
    int runtime_known = trusted && knows_runtime(trusted);
    if (position >= 0 && position < argc
        && (strcmp(argv[position], "create") == 0 || strcmp(argv[position], "run") == 0)) {
        if (read_flags(argc, argv, position + 1, CREATE_FLAGS, on_create_flag) >= 0 && runtime_known
            && ask_injector(trusted))
            to_runtime(trusted, argv);
        to_python(RUNTIME_BOOTSTRAP, argv, argc, trusted);
    }
    if (runtime_known && !(position == argc && version_flag))
        to_runtime(trusted, argv);
    to_python(RUNTIME_BOOTSTRAP, argv, argc, trusted);
    return 1;
}
