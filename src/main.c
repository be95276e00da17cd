/*
 * main: the command line, the configuration and the model, then the master.
 * Every error in them stops inferd here, before anything is forked.
 */
#include "autoconf.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
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
"usage: inferd [-hVt] [-c file | --no-config] [-l addr:port] [-m addr:port]\n"
"              [-w workers] [--model file] [-o key=value ...]\n"
"\n"
"  -c, --config FILE           read settings from FILE (key = value lines;\n"
"                              default " INFERD_DEFAULT_CONFIG " if it exists)\n"
"      --no-config             read no configuration file, not even that one\n"
"  -l, --listen ADDR:PORT      inference HTTP server (default 0.0.0.0:8000)\n"
"  -m, --metrics-listen ADDR:PORT  /metrics server (default 0.0.0.0:9180)\n"
"  -w, --workers N             worker processes (default: online CPUs)\n"
"      --model FILE            XGBoost model to serve (JSON, UBJSON, binary)\n"
"  -o, --option KEY=VALUE      set any configuration key\n"
"  -t, --check                 check configuration and model, then exit\n"
"  -h, --help                  show this help\n"
"  -V, --version               show the version\n"
"\n"
"The command line overrides the configuration file.  Keys and defaults:\n");
	for (i = 0; (name = config_key_doc(i, &dflt, &help)) != NULL; i++)
		fprintf(f, "  %-18s %s (default %s)\n", name, help,
		    dflt[0] != '\0' ? dflt : "empty");
	exit(status);
}

/* A usage error: one line naming it, a hint, exit 1. */
static void __attribute__((noreturn, format(printf, 1, 2)))
main_usage_error(const char *fmt, ...)
{
	va_list	ap;

	fputs("inferd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; try 'inferd --help'\n", stderr);
	exit(1);
}

/* What the command line asked for. */
struct main_args {
	const char	*conffile;	/* NULL: the default, if it exists */
	const char	*fileread;	/* the file main_build_config read */
	int		 noconfig;	/* --no-config */
	struct main_opt	*opts;		/* settings, in order */
	int		 nopts;
	int		 check;		/* -t */
};

/* Record -o KEY=VALUE in o; exits 1 when it has no '='. */
static void
main_option(struct main_opt *o, char *arg)
{
	char	*eq;

	if ((eq = strchr(arg, '=')) == NULL)
		main_usage_error("-o %s: expected KEY=VALUE", arg);
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
		{ "no-config", no_argument, NULL, 'C' },
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
	opterr = 0;	/* main_usage_error says it in one line */
	while ((ch = getopt_long(argc, argv, ":c:l:m:w:o:thV", longopts,
	    NULL)) != -1) {
		struct main_opt *o = &a->opts[a->nopts];

		switch (ch) {
		case 'c':
			a->conffile = optarg;
			continue;
		case 'C':
			a->noconfig = 1;
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
		case ':':
			main_usage_error("option %s needs a value",
			    argv[optind - 1]);
		default:
			if (optopt != 0)
				main_usage_error("unknown option -%c", optopt);
			main_usage_error("unknown option %s", argv[optind - 1]);
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
	if (optind != argc)
		main_usage_error("unexpected argument '%s'", argv[optind]);
	if (a->noconfig && a->conffile != NULL)
		main_usage_error("-c and --no-config exclude each other");
}

/*
 * The configuration: defaults, then the file (-c, or the default one if it
 * exists, unless --no-config), then the command line's settings in order.
 * master_config_cb: at start-up and on every reload.
 */
static int
main_build_config(struct config *cfg, char *src, size_t srclen, char *err,
    size_t errlen, void *arg)
{
	const struct main_args	*a = arg;
	const char		*file = a->conffile;
	long			 ncpu;
	int			 i;

	config_defaults(cfg);
	if (file == NULL && !a->noconfig && access(INFERD_DEFAULT_CONFIG,
	    F_OK) == 0)
		file = INFERD_DEFAULT_CONFIG;
	if (file != NULL && config_load(cfg, file, err, errlen) == -1)
		return -1;
	((struct main_args *)arg)->fileread = file;
	if (file != NULL)
		snprintf(src, srclen, "read %s", file);
	else
		snprintf(src, srclen, "no file read: %s", a->noconfig ?
		    "--no-config" : INFERD_DEFAULT_CONFIG " does not exist");
	for (i = 0; i < a->nopts; i++)
		if (config_set(cfg, a->opts[i].key, a->opts[i].value,
		    a->opts[i].origin, err, errlen) == -1)
			return -1;
	if (cfg->workers == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->workers = ncpu < 1 ? 1 : ncpu > CONFIG_MAX_WORKERS ?
		    CONFIG_MAX_WORKERS : (unsigned)ncpu;
	}
	return 0;
}

/*
 * Where the model key's value came from, as configuration errors name it:
 * the last command-line setting of it, else the line of the configuration
 * file that sets it, else the built-in default.
 */
static void
main_model_origin(const struct main_args *a, char *buf, size_t len)
{
	char		 line[1024];
	const char	*p;
	FILE		*f;
	unsigned	 lineno = 0;
	int		 i;

	for (i = a->nopts - 1; i >= 0; i--)
		if (strcmp(a->opts[i].key, "model") == 0) {
			strlcpy(buf, a->opts[i].origin, len);
			return;
		}
	snprintf(buf, len, "built-in default (no --model, no model key)");
	if (a->fileread == NULL || (f = fopen(a->fileread, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (strncmp(p, "model", 5) == 0 && strchr(" \t=", p[5]) != NULL) {
			snprintf(buf, len, "%s:%u", a->fileread, lineno);
			break;
		}
	}
	fclose(f);
}

int
main(int argc, char *argv[])
{
	static struct config	 cfg;
	struct main_args	 args = { 0 };
	struct model		*model;
	struct model_limits	 lim;
	char			 err[1024], src[CONFIG_PATH_MAX + 64];
	char			 origin[CONFIG_PATH_MAX + 64];
	int			 rc;

	setproctitle_init(argc, argv, environ);
	log_init(LOG_LEVEL_INFO, 0, 0);
	event_set_log_callback(main_event_log);
	main_parse_args(argc, argv, &args);
	if (main_build_config(&cfg, src, sizeof(src), err, sizeof(err),
	    &args) == -1) {
		fprintf(stderr, "inferd: %s\n", err);
		exit(1);
	}
	log_set_level(cfg.log_level);
	lim = model_limits_config(&cfg);
	if ((model = model_load_limits(cfg.model, &lim, err,
	    sizeof(err))) == NULL) {
		main_model_origin(&args, origin, sizeof(origin));
		fprintf(stderr, "inferd: %s: model: %s\n", origin, err);
		exit(1);
	}
	if (model_trees_note(model, err, sizeof(err)))
		log_info("%s", err);
	if (args.check) {
		printf("inferd: configuration ok (%s); model %s (%s, %zu "
		    "features, sha256 %s)\n", src, model_name(model),
		    model_objective(model), model_nfeatures(model),
		    model_sha256(model));
		model_free(model);
		free(args.opts);
		exit(0);
	}
	/* From here on the log goes where the configuration says; a
	 * reload keeps it (log and log_facility are restart-only). */
	log_init(cfg.log_level, cfg.log_to == CONFIG_LOG_SYSLOG,
	    cfg.log_facility);
	log_info("configuration: %s", src);
	/* A client that goes away must not kill the process that writes. */
	signal(SIGPIPE, SIG_IGN);
	rc = master_run(&cfg, model, main_build_config, &args);
	free(args.opts);
	return rc;
}
