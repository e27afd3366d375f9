/* cmd_keygen.c: `ganq keygen --out DIR [--name NAME]`: write a CURVE key pair as
 * DIR/NAME.pub (public, Z85, mode 0644) and DIR/NAME.secret (secret, Z85, mode 0600), for
 * ganq-broker --curve-secret / --authorized-keys and the --broker-key / --curve-secret of
 * workers and clients. Existing files are never overwritten. Talks to no broker. */
#include "client/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client/cli_args.h"
#include "proto/wire/curve.h"

enum { O_OUT = 1, O_NAME };
static const cli_opt keygen_opts[] = {
    {"out", 1, O_OUT, "DIR", "directory for the two files (created if missing)"},
    {"name", 1, O_NAME, "NAME", "file name stem: NAME.pub, NAME.secret (default: key)"},
    {"help", 0, CLI_O_HELP, NULL, "show this help"},
    {NULL, 0, 0, NULL, NULL},
};

static int name_ok(const char *n)
{
    if (!*n || strlen(n) > 128 || n[0] == '.')
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

int cmd_keygen(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    const char *cmd = "ganq keygen";
    const cli_opt *tabs[] = {keygen_opts, NULL};
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, 1);
    const char *out = NULL, *name = "key";
    const cli_opt *o;
    const char *v;
    int r;
    while ((r = cli_next(&p, tabs, &o, &v)) != CLI_NEXT_END) {
        if (r == CLI_NEXT_ERR)
            return CLI_EXIT_USAGE;
        if (r == CLI_NEXT_POS)
            return cli_usage_fail(cmd, "unexpected argument '%s'", v);
        if (o->id == CLI_O_HELP) {
            cli_print_usage(stdout, "ganq keygen --out DIR [--name NAME]",
                            "Write a new CURVE key pair: DIR/NAME.pub (public key, give it to "
                            "the\nbroker's --authorized-keys directory, or as --broker-key) and "
                            "DIR/NAME.secret\n(secret key, mode 0600, for --curve-secret). "
                            "Existing files are not overwritten.", tabs);
            return CLI_EXIT_OK;
        }
        if (o->id == O_OUT)
            out = v;
        else if (o->id == O_NAME)
            name = v;
    }
    if (!out || !*out)
        return cli_usage_fail(cmd, "--out DIR is required");
    if (!name_ok(name))
        return cli_usage_fail(cmd, "--name: '%s' must be 1..128 of A-Z a-z 0-9 - _ . and not "
                              "start with '.'", name);
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: --out: cannot create %s: %s\n", cmd, out, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: --out: %s is not a directory\n", cmd, out);
        return CLI_EXIT_FAILED;
    }
    gq_error err;
    gq_error_clear(&err);
    char *pub = NULL, *sec = NULL;
    int rc = wire_curve_keygen(out, name, &pub, &sec, &err);
    if (rc) {
        fprintf(stderr, "%s: %s\n", cmd, gq_error_str(&err, rc));
        return CLI_EXIT_FAILED;
    }
    printf("%s\n%s\n", pub, sec);
    free(pub);
    free(sec);
    return CLI_EXIT_OK;
}
