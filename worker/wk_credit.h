/* wk_credit.h: the worker's credit accounting.
 *
 * Protocol (proto/ganq.proto): Credit{credits} tells the broker how many tasks the worker
 * can take besides those it holds. The broker's view drops by one with every Task it sends;
 * the worker re-advertises whenever its free room differs from what the broker believes:
 * after a (re)HELLO (the broker knows nothing), after a task finishes, and when stopping
 * (room becomes 0). Pure logic, used by the socket thread only.
 *
 *   free = stopping ? 0 : max(0, capacity - held)
 *   due  = free if free != advertised (advertised -1 = unknown), else -1
 */
#ifndef GQ_WK_CREDIT_H
#define GQ_WK_CREDIT_H

typedef struct wk_credit {
    int capacity;    /* tasks the worker can hold (--credits) */
    int held;        /* tasks held now: queued or running */
    int advertised;  /* the broker's view of our free room; -1 unknown */
    int stopping;    /* no more work wanted */
} wk_credit;

void wk_credit_init(wk_credit *c, int capacity);   /* capacity >= 1 (asserted) */
void wk_credit_task_in(wk_credit *c);     /* a Task arrived */
void wk_credit_task_out(wk_credit *c);    /* a task finished, failed or was given back */
void wk_credit_forget(wk_credit *c);      /* new HELLO: the broker's view is unknown */
void wk_credit_stop(wk_credit *c);        /* stop taking work */
int  wk_credit_free(const wk_credit *c);
int  wk_credit_due(const wk_credit *c);   /* value to send, or -1 when nothing to send */
void wk_credit_sent(wk_credit *c, int v); /* record that Credit{v} went out */

#endif
