/* wk_credit.c: credit accounting (see wk_credit.h). */
#include "worker/wk_credit.h"

#include "proto/base/gq_log.h"

void wk_credit_init(wk_credit *c, int capacity)
{
    GQ_ASSERT(capacity >= 1);
    c->capacity = capacity;
    c->held = 0;
    c->advertised = -1;
    c->stopping = 0;
}

void wk_credit_task_in(wk_credit *c)
{
    c->held++;
    if (c->advertised > 0) c->advertised--;
}

void wk_credit_task_out(wk_credit *c)
{
    GQ_ASSERT(c->held > 0);
    c->held--;
}

void wk_credit_forget(wk_credit *c) { c->advertised = -1; }
void wk_credit_stop(wk_credit *c) { c->stopping = 1; }

int wk_credit_free(const wk_credit *c)
{
    if (c->stopping) return 0;
    return c->capacity > c->held ? c->capacity - c->held : 0;
}

int wk_credit_due(const wk_credit *c)
{
    int f = wk_credit_free(c);
    return f != c->advertised ? f : -1;
}

void wk_credit_sent(wk_credit *c, int v) { c->advertised = v; }
