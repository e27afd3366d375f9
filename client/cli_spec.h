/* cli_spec.h: the job flags shared by `ganq submit KIND` and `ganq run KIND`: turns the
 * user's words into a ganq.v1.JobSpec (the broker resolves class names and validates it
 * against the model; the wire codec checks ranges before anything is sent).
 *
 * Kinds and their flags (every kind also takes the common ones: --model --seed --classes
 * --format --out --priority --owner --task-size --png-level --jpeg-quality --name
 * --max-attempts --model-sha256):
 *   generate     --count N [--truncation T|T1,T2..] [--sheet]
 *   synthesize   --per-class N [--val-fraction F] [--layout flat|imagefolder|wds]
 *                [--shard-size N] [--truncation list]
 *   sweep        --truncations A:B:STEP|T1,T2.. --per-value N
 *   interpolate  --from CLASS:SEED --to CLASS:SEED --steps N [--mode z|class|both]
 */
#ifndef GQ_CLI_SPEC_H
#define GQ_CLI_SPEC_H

#include "client/cli_args.h"
#include "proto/ganq.pb-c.h"

/* A spec being built; owns every string and array the JobSpec points to. */
typedef struct cli_spec {
    Ganq__V1__JobSpec spec;
    char   *out_dir;      /* absolute */
    double *truncs;
    char   *from_name;    /* interpolate endpoints typed as names */
    char   *to_name;
    int     json;         /* --json given */
    int     have_from, have_to;
} cli_spec;

/* The kind named by word ("generate"...), or 0 if none. */
int cli_spec_kind(const char *word);

/* Options of a kind (NULL-terminated table), for parsing and --help. */
const cli_opt *cli_spec_opts(int kind);
const char *cli_spec_intro(int kind);

void cli_spec_init(cli_spec *s, int kind);
void cli_spec_release(cli_spec *s);

/* Apply one parsed option of cli_spec_opts(). Returns 0, or -1 with the message printed. */
int cli_spec_apply(cli_spec *s, const char *cmd, const cli_opt *o, const char *val);

/* After all options: required flags present, defaults filled. Returns 0 or -1 (printed). */
int cli_spec_finish(cli_spec *s, const char *cmd);

/* cli_spec_finish, then the Submit envelope around s->spec in the caller's env and sub,
 * validated here: a bad value is a usage error before any network. Returns 0 or -1
 * (printed). */
int cli_spec_submit_env(cli_spec *s, const char *cmd, Ganq__V1__Envelope *env,
                        Ganq__V1__Submit *sub);

#endif
