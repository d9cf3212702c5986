/* ioload_env: where a result was measured, for the "env" object. */
#ifndef IOBENCH_IOLOAD_ENV_H
#define IOBENCH_IOLOAD_ENV_H

#include <jansson.h>

/* {"hostname","kernel","cpu_model","cores","git_commit","cpu_affinity"};
 * unknown values are null. NULL on ENOMEM. */
json_t *ioload_env_json(void);

#endif
