/*
 * main: the command line, the configuration and the model, then the master.
 * Every error in them stops inferd here, before anything is forked.
 */
#include "autoconf.h"

#include <errno.h>
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

int
main(int argc, char *argv[])
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
	static struct config	 cfg;
	struct main_opt		*opts;
	struct model		*model;
	const char		*conffile = NULL;
	char			 err[1024], *eq;
	int			 ch, nopts = 0, check = 0, i;
	long			 ncpu;

	setproctitle_init(argc, argv, environ);
	log_init(LOG_LEVEL_INFO, 0);
	event_set_log_callback(main_event_log);
	if ((opts = calloc((size_t)argc, sizeof(*opts))) == NULL)
		fatal("calloc");
	while ((ch = getopt_long(argc, argv, "c:l:m:w:o:thV", longopts,
	    NULL)) != -1) {
		struct main_opt *o = &opts[nopts];

		switch (ch) {
		case 'c':
			conffile = optarg;
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
			if ((eq = strchr(optarg, '=')) == NULL) {
				fprintf(stderr, "inferd: -o %s: expected "
				    "KEY=VALUE\n", optarg);
				exit(2);
			}
			*eq = '\0';
			o->key = optarg;
			o->value = eq + 1;
			snprintf(o->origin, sizeof(o->origin),
			    "command line (-o %s)", optarg);
			nopts++;
			continue;
		case 't':
			check = 1;
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
		nopts++;
	}
	if (optind != argc) {
		fprintf(stderr, "inferd: unexpected argument '%s'\n",
		    argv[optind]);
		main_usage(2);
	}

	config_defaults(&cfg);
	if (conffile != NULL && config_load(&cfg, conffile, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "inferd: %s\n", err);
		exit(1);
	}
	for (i = 0; i < nopts; i++)
		if (config_set(&cfg, opts[i].key, opts[i].value,
		    opts[i].origin, err, sizeof(err)) == -1) {
			fprintf(stderr, "inferd: %s\n", err);
			exit(1);
		}
	free(opts);
	log_set_level(cfg.log_level);
	if (cfg.workers == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		cfg.workers = ncpu < 1 ? 1 : ncpu > CONFIG_MAX_WORKERS ?
		    CONFIG_MAX_WORKERS : (unsigned)ncpu;
	}
	if ((model = model_load(cfg.model, err, sizeof(err))) == NULL) {
		fprintf(stderr, "inferd: %s\n", err);
		exit(1);
	}
	if (check) {
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
