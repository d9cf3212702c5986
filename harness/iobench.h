/* iobench: the harness's subcommands, one entry point per source file.
 *
 * main.c dispatches `iobench SUBCOMMAND ARGS...` to these. Each receives
 * argv with argv[0] being the subcommand name and returns the process exit
 * status: 0 success, 1 failure (compare: 1 = regression), 2 bad usage (after
 * one clear line on stderr). */
#ifndef IOBENCH_IOBENCH_H
#define IOBENCH_IOBENCH_H

int run_main(int argc, char **argv);     /* iobench run ...  (run.c)     */
int plot_main(int argc, char **argv);    /* iobench plot ... (plot.c)    */
int compare_main(int argc, char **argv); /* iobench compare  (compare.c) */
int report_main(int argc, char **argv);  /* iobench report   (report.c)  */
int history_main(int argc, char **argv); /* iobench history  (history.c) */

#endif
