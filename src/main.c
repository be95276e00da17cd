/*
 * main: the command line, the configuration and the model, then the master.
 * Every error in them stops inferd here, before anything is forked.
 */
#include "autoconf.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "inferd/config.h"
#include "inferd/log.h"
#include "inferd/master.h"
#include "inferd/model.h"

extern char **environ;

/* libevent's own messages, through inferd's log ("libevent: ..."). */
static void
main_event_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

/* A setting from the command line, applied after the configuration file. */
struct main_opt {
	const char	*key;
	const char	*value;
	char		 origin[64];
};

/* Print the usage (to stdout when status is 0) and exit with status. */
static void __attribute__((noreturn))
main_usage(int status)
{
	const char	*name, *dflt, *help;
	size_t		 i;
	FILE		*f = status == 0 ? stdout : stderr;

	fprintf(f,
"usage: inferd [-hVt] [-c file] [-l addr:port] [-m addr:port] [-w workers]\n"
"              [--model file] [-o key=value ...]\n"
"\n"
"  -c, --config FILE           read settings from FILE (key = value lines)\n"
"  -l, --listen ADDR:PORT      inference HTTP server (default 0.0.0.0:8000)\n"
"  -m, --metrics-listen ADDR:PORT  /metrics server (default 0.0.0.0:9180)\n"
"  -w, --workers N             worker processes (default: online CPUs)\n"
"      --model FILE            XGBoost JSON model to serve\n"
"  -o, --option KEY=VALUE      set any configuration key\n"
"  -t, --check                 check configuration and model, then exit\n"
"  -h, --help                  show this help\n"
"  -V, --version               show the version\n"
"\n"
"The command line overrides the configuration file.  Keys and defaults:\n");
	for (i = 0; (name = config_key_doc(i, &dflt, &help)) != NULL; i++)
		fprintf(f, "  %-18s %s (default %s)\n", name, help, dflt);
	exit(status);
}

/* What the command line asked for. */
struct main_args {
	const char	*conffile;	/* NULL: none */
	struct main_opt	*opts;		/* settings, in order */
	int		 nopts;
	int		 check;		/* -t */
};

/* Record -o KEY=VALUE in o; exits 2 when it has no '='. */
static void
main_option(struct main_opt *o, char *arg)
{
	char	*eq;

	if ((eq = strchr(arg, '=')) == NULL) {
		fprintf(stderr, "inferd: -o %s: expected KEY=VALUE\n", arg);
		exit(2);
	}
	*eq = '\0';
	o->key = arg;
	o->value = eq + 1;
	snprintf(o->origin, sizeof(o->origin), "command line (-o %s)", arg);
}

/* Parse the command line into a; exits on -h, -V and usage errors. */
static void
main_parse_args(int argc, char *argv[], struct main_args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "metrics-listen", required_argument, NULL, 'm' },
		{ "workers", required_argument, NULL, 'w' },
		{ "model", required_argument, NULL, 'M' },
		{ "option", required_argument, NULL, 'o' },
		{ "check", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int	ch;

	if ((a->opts = calloc((size_t)argc, sizeof(*a->opts))) == NULL)
		fatal("calloc");
	while ((ch = getopt_long(argc, argv, "c:l:m:w:o:thV", longopts,
	    NULL)) != -1) {
		struct main_opt *o = &a->opts[a->nopts];

		switch (ch) {
		case 'c':
			a->conffile = optarg;
			continue;
		case 'l':
			o->key = "listen";
			break;
		case 'm':
			o->key = "metrics_listen";
			break;
		case 'w':
			o->key = "workers";
			break;
		case 'M':
			o->key = "model";
			break;
		case 'o':
			main_option(o, optarg);
			a->nopts++;
			continue;
		case 't':
			a->check = 1;
			continue;
		case 'h':
			main_usage(0);
		case 'V':
			printf("inferd %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			main_usage(2);
		}
		o->value = optarg;
		if (ch == 'M')
			strlcpy(o->origin, "command line (--model)",
			    sizeof(o->origin));
		else
			snprintf(o->origin, sizeof(o->origin),
			    "command line (-%c)", ch);
		a->nopts++;
	}
	if (optind != argc) {
		fprintf(stderr, "inferd: unexpected argument '%s'\n",
		    argv[optind]);
		main_usage(2);
	}
}

/*
 * The configuration: defaults, then the file, then the command line's
 * settings in order; exits 1 on the first error.
 */
static void
main_configure(struct config *cfg, const struct main_args *a)
{
	char	err[1024];
	long	ncpu;
	int	i;

	config_defaults(cfg);
	if (a->conffile != NULL && config_load(cfg, a->conffile, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "inferd: %s\n", err);
		exit(1);
	}
	for (i = 0; i < a->nopts; i++)
		if (config_set(cfg, a->opts[i].key, a->opts[i].value,
		    a->opts[i].origin, err, sizeof(err)) == -1) {
			fprintf(stderr, "inferd: %s\n", err);
			exit(1);
		}
	log_set_level(cfg->log_level);
	if (cfg->workers == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->workers = ncpu < 1 ? 1 : ncpu > CONFIG_MAX_WORKERS ?
		    CONFIG_MAX_WORKERS : (unsigned)ncpu;
	}
}

int
main(int argc, char *argv[])
{
	static struct config	 cfg;
	struct main_args	 args = { 0 };
	struct model		*model;
	char			 err[1024];

	setproctitle_init(argc, argv, environ);
	log_init(LOG_LEVEL_INFO, 0);
	event_set_log_callback(main_event_log);
	main_parse_args(argc, argv, &args);
	main_configure(&cfg, &args);
	free(args.opts);
	if ((model = model_load(cfg.model, err, sizeof(err))) == NULL) {
		fprintf(stderr, "inferd: %s\n", err);
		exit(1);
	}
	if (args.check) {
		printf("inferd: configuration ok; model %s (%s, %zu features, "
		    "sha256 %s)\n", model_name(model), model_objective(model),
		    model_nfeatures(model), model_sha256(model));
		model_free(model);
		exit(0);
	}
	/* A client that goes away must not kill the process that writes. */
	signal(SIGPIPE, SIG_IGN);
	return master_run(&cfg, model);
}
