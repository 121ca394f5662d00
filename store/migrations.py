"""Versioned schema migrations. Re-running is safe: applied versions are skipped.

Add a migration by appending to MIGRATIONS with the next version number; never edit
one that has shipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlite_utils import Database

MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "prices, ingestion log, watchlists",
        (
            """CREATE TABLE ingestion_log (
                id INTEGER PRIMARY KEY,
                source TEXT NOT NULL,
                fetched_at_utc TEXT NOT NULL,
                tickers TEXT NOT NULL,          -- JSON list of the tickers asked for
                rows INTEGER NOT NULL,          -- price rows written
                status TEXT NOT NULL CHECK (status IN ('ok', 'partial')),
                message TEXT NOT NULL
            )""",
            """CREATE TABLE ingestion_findings (
                ingestion_id INTEGER NOT NULL
                    REFERENCES ingestion_log(id) ON DELETE CASCADE,
                ticker TEXT NOT NULL,
                check_name TEXT NOT NULL,
                severity TEXT NOT NULL CHECK (severity IN ('error', 'warning', 'info')),
                count INTEGER NOT NULL,
                first_date TEXT,
                message TEXT NOT NULL
            )""",
            "CREATE INDEX ingestion_findings_by_run ON ingestion_findings(ingestion_id)",
            # Clustered on (ticker, date): one ticker's history is one contiguous range.
            """CREATE TABLE prices (
                ticker TEXT NOT NULL,
                date TEXT NOT NULL,             -- ISO session date
                open REAL, high REAL, low REAL, close REAL, volume REAL,
                adjusted INTEGER NOT NULL CHECK (adjusted IN (0, 1)),
                source TEXT NOT NULL,
                ingestion_id INTEGER NOT NULL REFERENCES ingestion_log(id),
                PRIMARY KEY (ticker, date)
            ) WITHOUT ROWID""",
            """CREATE TABLE watchlists (
                name TEXT PRIMARY KEY,
                description TEXT NOT NULL DEFAULT '',
                updated_utc TEXT NOT NULL
            )""",
            """CREATE TABLE watchlist_members (
                watchlist TEXT NOT NULL
                    REFERENCES watchlists(name) ON DELETE CASCADE ON UPDATE CASCADE,
                ticker TEXT NOT NULL,
                position INTEGER NOT NULL,
                PRIMARY KEY (watchlist, ticker)
            )""",
        ),
    ),
    (
        2,
        "feature cache",
        (
            """CREATE TABLE feature_sets (
                version TEXT PRIMARY KEY,       -- hash of feature code + parameters
                params_json TEXT NOT NULL,
                columns_json TEXT NOT NULL,     -- JSON list of the cached columns
                created_utc TEXT NOT NULL
            )""",
            # One block per (version, ticker): a ticker's features load in one read.
            """CREATE TABLE feature_blocks (
                version TEXT NOT NULL REFERENCES feature_sets(version) ON DELETE CASCADE,
                ticker TEXT NOT NULL,
                first_date TEXT NOT NULL,
                last_date TEXT NOT NULL,
                rows INTEGER NOT NULL,
                input_digest TEXT NOT NULL,     -- SHA-256 of the price rows it was built from
                data BLOB NOT NULL,
                updated_utc TEXT NOT NULL,
                PRIMARY KEY (version, ticker)
            ) WITHOUT ROWID""",
        ),
    ),
    (
        3,
        "model runs and the training lock",
        (
            """CREATE TABLE model_runs (
                run_id TEXT PRIMARY KEY,
                created_utc TEXT NOT NULL,
                finished_utc TEXT,
                status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
                origin TEXT NOT NULL DEFAULT 'local',   -- 'local' or 'imported'
                params_json TEXT NOT NULL,
                metrics_json TEXT,
                files_json TEXT,                        -- file name -> SHA-256
                artifact_dir TEXT,
                feature_version TEXT,
                data_hash TEXT,
                code_version TEXT,
                message TEXT NOT NULL DEFAULT '',
                active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))
            )""",
            "CREATE UNIQUE INDEX model_runs_one_active ON model_runs(active) WHERE active = 1",
            # At most one training job: the row exists while a job runs (id is always 1).
            """CREATE TABLE training_lock (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                run_id TEXT NOT NULL,
                pid INTEGER NOT NULL,
                started_utc TEXT NOT NULL
            )""",
        ),
    ),
    (
        4,
        "paper trading ledger and backtest trials",
        (
            """CREATE TABLE paper_account (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                initial_cash REAL NOT NULL CHECK (initial_cash > 0),
                created_utc TEXT NOT NULL,
                halted INTEGER NOT NULL DEFAULT 0 CHECK (halted IN (0, 1)),
                halt_reason TEXT NOT NULL DEFAULT ''
            )""",
            """CREATE TABLE paper_orders (
                client_order_id TEXT PRIMARY KEY,
                step_date TEXT NOT NULL,
                ticker TEXT NOT NULL,
                quantity REAL NOT NULL CHECK (quantity != 0),   -- signed: buy > 0
                status TEXT NOT NULL CHECK (status IN ('open', 'filled', 'cancelled')),
                stop REAL, take_profit REAL,
                p_up REAL, run_id TEXT, reasons TEXT NOT NULL DEFAULT '',
                note TEXT NOT NULL DEFAULT '',
                created_utc TEXT NOT NULL
            )""",
            """CREATE TABLE paper_fills (
                fill_id TEXT PRIMARY KEY,
                client_order_id TEXT NOT NULL UNIQUE REFERENCES paper_orders(client_order_id),
                fill_date TEXT NOT NULL,
                ticker TEXT NOT NULL,
                quantity REAL NOT NULL,
                price REAL NOT NULL CHECK (price > 0),
                fees REAL NOT NULL CHECK (fees >= 0),
                created_utc TEXT NOT NULL
            )""",
            """CREATE TABLE paper_positions (
                ticker TEXT PRIMARY KEY,
                quantity REAL NOT NULL,
                stop REAL, take_profit REAL
            )""",
            """CREATE TABLE paper_cash (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                balance REAL NOT NULL
            )""",
            """CREATE TABLE paper_steps (
                step_date TEXT PRIMARY KEY,
                equity REAL NOT NULL,
                cash REAL NOT NULL,
                peak_equity REAL NOT NULL,
                orders INTEGER NOT NULL,
                fills INTEGER NOT NULL,
                guardrail TEXT NOT NULL DEFAULT '',
                completed_utc TEXT NOT NULL
            )""",
            """CREATE TABLE backtest_trials (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,                     -- 'backtest' or 'ablation'
                label TEXT NOT NULL,
                sharpe_per_period REAL,
                days INTEGER,
                created_utc TEXT NOT NULL
            )""",
        ),
    ),
    (
        5,
        "ablation studies",
        (
            """CREATE TABLE ablation_runs (
                id INTEGER PRIMARY KEY,
                created_utc TEXT NOT NULL,
                config_json TEXT NOT NULL,
                table_json TEXT NOT NULL,     -- one row per variant
                steps_json TEXT NOT NULL      -- one row per step between variants
            )""",
        ),
    ),
    (
        6,
        "paper ledger on the execution model: state, targets, fill costs",
        (
            # the execution state per ticker; a flat ticker keeps its row while re-entry
            # is blocked. A position from before this version gets the mean price of the
            # fills on its side as its basis (an estimate) and exits active at once.
            "ALTER TABLE paper_positions ADD COLUMN cost_basis REAL NOT NULL DEFAULT 0",
            "ALTER TABLE paper_positions ADD COLUMN risk REAL",
            "ALTER TABLE paper_positions ADD COLUMN trailing INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE paper_positions ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE paper_positions ADD COLUMN exit_side REAL NOT NULL DEFAULT 0",
            "ALTER TABLE paper_positions ADD COLUMN entered TEXT",  # ISO session date
            """UPDATE paper_positions SET cost_basis = COALESCE((
                SELECT SUM(f.quantity * f.price) / SUM(f.quantity) FROM paper_fills f
                WHERE f.ticker = paper_positions.ticker
                  AND f.quantity * paper_positions.quantity > 0), 0)""",
            # an order works toward a target weight; its quantity is indicative
            "ALTER TABLE paper_orders ADD COLUMN target_weight REAL",
            "ALTER TABLE paper_orders ADD COLUMN trailing INTEGER NOT NULL DEFAULT 0",
            # spread and impact are inside the fill price; listed apart as costs
            "ALTER TABLE paper_fills ADD COLUMN spread REAL NOT NULL DEFAULT 0",
            "ALTER TABLE paper_fills ADD COLUMN impact REAL NOT NULL DEFAULT 0",
            "ALTER TABLE paper_fills ADD COLUMN reason TEXT NOT NULL DEFAULT 'rebalance'",
            "ALTER TABLE paper_fills ADD COLUMN realized_pnl REAL",
            # each step's decision: every target weight, zero included (a zero lifts a
            # re-entry block), executed by the next step
            """CREATE TABLE paper_targets (
                step_date TEXT NOT NULL,
                ticker TEXT NOT NULL,
                target_weight REAL NOT NULL,
                stop REAL, take_profit REAL,
                trailing INTEGER NOT NULL DEFAULT 0 CHECK (trailing IN (0, 1)),
                PRIMARY KEY (step_date, ticker)
            ) WITHOUT ROWID""",
        ),
    ),
    (
        7,
        "model runs record their trained-through date",
        # the newest label end date the run learned from; NULL for runs registered before
        ("ALTER TABLE model_runs ADD COLUMN trained_through TEXT",),
    ),
    (
        8,
        "feature blocks record the stored rows they were built from",
        # rows, newest date and newest ingestion id of the ticker's prices at build time:
        # equal now means no row was written since, so the rows need not be read
        ("ALTER TABLE feature_blocks ADD COLUMN input_version TEXT",),
    ),
    (
        9,
        "model runs record the portfolio construction they are traded with",
        # engine.trading.construction.ConstructionParams as JSON; NULL: the default for
        # the run's kind (Kelly for market timing, top_k for a cross-sectional model)
        ("ALTER TABLE model_runs ADD COLUMN construction_json TEXT",),
    ),
    (
        10,
        "macro series, point in time",
        (
            # one observation as known from known_date on; a revision is a new row with a
            # later known_date (see engine.data.macro). value NULL: missing (FRED's ".")
            """CREATE TABLE macro_observations (
                series_id TEXT NOT NULL,
                date TEXT NOT NULL,             -- ISO observation date
                known_date TEXT NOT NULL,       -- ISO date from which the value was known
                value REAL,
                realtime_start TEXT,            -- FRED vintage it came from; NULL elsewhere
                source TEXT NOT NULL,
                fetched_utc TEXT NOT NULL,
                PRIMARY KEY (series_id, date, known_date)
            ) WITHOUT ROWID""",
            "CREATE INDEX macro_observations_by_known ON macro_observations(known_date)",
        ),
    ),
    (
        11,
        "news and insider transactions, point in time",
        (
            """CREATE TABLE news_items (
                ticker TEXT NOT NULL,
                item_id TEXT NOT NULL,
                published_utc TEXT NOT NULL,    -- when it became public
                public_date TEXT NOT NULL,      -- its New York date; usable the session after
                headline TEXT NOT NULL,
                source TEXT NOT NULL,
                score REAL NOT NULL,            -- engine.data.finnhub.headline_score
                fetched_utc TEXT NOT NULL,
                PRIMARY KEY (ticker, item_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX news_items_by_date ON news_items(ticker, public_date)",
            """CREATE TABLE insider_transactions (
                ticker TEXT NOT NULL,
                item_id TEXT NOT NULL,
                filing_date TEXT NOT NULL,      -- when it became public; usable the session after
                transaction_date TEXT NOT NULL,
                name TEXT NOT NULL,
                code TEXT NOT NULL,             -- SEC Form 4 code: P purchase, S sale, ...
                change REAL NOT NULL,           -- shares, + bought / - sold
                price REAL,
                fetched_utc TEXT NOT NULL,
                PRIMARY KEY (ticker, item_id)
            ) WITHOUT ROWID""",
            # the date ranges a fetch covered: inside one, no item means none, not unknown
            """CREATE TABLE sentiment_coverage (
                ticker TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('news', 'insider')),
                first_date TEXT NOT NULL,
                last_date TEXT NOT NULL,
                fetched_utc TEXT NOT NULL,
                PRIMARY KEY (ticker, kind, first_date, last_date)
            ) WITHOUT ROWID""",
        ),
    ),
    (
        12,
        "watchlists keep their membership history",
        (
            # one row per spell of a ticker in a watchlist: it is a member on the dates
            # added <= d < removed. A member from before this version is one since its data
            # starts (added NULL) and still one (removed NULL).
            """CREATE TABLE watchlist_spells (
                id INTEGER PRIMARY KEY,
                watchlist TEXT NOT NULL
                    REFERENCES watchlists(name) ON DELETE CASCADE ON UPDATE CASCADE,
                ticker TEXT NOT NULL,
                position INTEGER NOT NULL,
                added TEXT,                     -- ISO date; NULL: since its data starts
                removed TEXT,                   -- ISO date; NULL: still a member
                recorded_utc TEXT NOT NULL,      -- when the spell was last written
                CHECK (removed IS NULL OR added IS NULL OR removed > added)
            )""",
            """INSERT INTO watchlist_spells (watchlist, ticker, position, recorded_utc)
               SELECT m.watchlist, m.ticker, m.position, w.updated_utc
               FROM watchlist_members m JOIN watchlists w ON w.name = m.watchlist""",
            "DROP TABLE watchlist_members",
            "ALTER TABLE watchlist_spells RENAME TO watchlist_members",
            # at most one open spell per ticker and watchlist
            """CREATE UNIQUE INDEX watchlist_members_open
               ON watchlist_members(watchlist, ticker) WHERE removed IS NULL""",
            "CREATE INDEX watchlist_members_by_list ON watchlist_members(watchlist, position)",
        ),
    ),
    (
        13,
        "the analyst's book: holdings and re-entry conditions",
        (
            # one position per ticker; example = 1 marks the made-up example rows
            """CREATE TABLE holdings (
                ticker TEXT PRIMARY KEY,
                shares REAL NOT NULL CHECK (shares > 0),
                cost_basis REAL NOT NULL CHECK (cost_basis >= 0),   -- per share
                opened TEXT NOT NULL
                    CHECK (opened GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
                note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 500),
                example INTEGER NOT NULL DEFAULT 0 CHECK (example IN (0, 1)),
                updated_utc TEXT NOT NULL
            ) WITHOUT ROWID""",
            # a sold name's re-entry conditions; NULL: that condition is not used
            """CREATE TABLE reentry_conditions (
                ticker TEXT PRIMARY KEY,
                min_percentile REAL CHECK (min_percentile BETWEEN 0 AND 1),
                min_p REAL CHECK (min_p BETWEEN 0 AND 1),
                pullback_days INTEGER CHECK (pullback_days BETWEEN 2 AND 1000),
                min_pullback REAL CHECK (min_pullback BETWEEN 0 AND 1),
                regimes TEXT,                   -- JSON list of regime ids (0-11)
                updated_utc TEXT NOT NULL,
                CHECK ((pullback_days IS NULL) = (min_pullback IS NULL))
            ) WITHOUT ROWID""",
        ),
    ),
    (
        14,
        "the paper account's capital ramp",
        (
            # one row per change of stage, confirmed by the user; the newest row is the
            # stage in force (none: the first stage). gate_json: the gate's verdict and
            # figures when the change was confirmed.
            """CREATE TABLE paper_ramp (
                id INTEGER PRIMARY KEY,
                changed_on TEXT NOT NULL,       -- ISO as-of date of the decision
                stage INTEGER NOT NULL CHECK (stage >= 0),
                fraction REAL NOT NULL CHECK (fraction > 0 AND fraction <= 1),
                verdict TEXT NOT NULL,
                gate_json TEXT NOT NULL,
                reason TEXT NOT NULL,
                recorded_utc TEXT NOT NULL
            )""",
        ),
    ),
    (
        15,
        "alerts: one per event id, one delivery row per channel",
        (
            # the event id is the key: a second raise of the same event (a rerun, another
            # process) inserts nothing, so it is delivered once
            """CREATE TABLE alerts (
                event_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,             -- engine.workflows.alerts.ALERT_KINDS
                title TEXT NOT NULL,
                body TEXT NOT NULL,
                created_utc TEXT NOT NULL
            )""",
            "CREATE INDEX alerts_by_time ON alerts(created_utc)",
            """CREATE TABLE alert_deliveries (
                event_id TEXT NOT NULL REFERENCES alerts(event_id) ON DELETE CASCADE,
                channel TEXT NOT NULL CHECK (channel IN ('slack', 'discord', 'email')),
                status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                reason TEXT NOT NULL DEFAULT '',  -- why it failed (never a URL or password)
                updated_utc TEXT NOT NULL,
                PRIMARY KEY (event_id, channel)
            ) WITHOUT ROWID""",
        ),
    ),
    (
        16,
        "api_keys: REST API keys, stored as the sha256 of the token only",
        (
            # the token itself is shown once on creation and never stored; revoked keeps
            # the row (who had access, until when) instead of deleting it
            """CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                hash TEXT NOT NULL UNIQUE,      -- hex sha256 of the token
                rate_limit INTEGER CHECK (rate_limit IS NULL OR rate_limit > 0),  -- a minute
                created_utc TEXT NOT NULL,
                revoked_utc TEXT                -- NULL: active
            )""",
        ),
    ),
    (
        17,
        "the broker mirror of the paper journal's orders",
        (
            # one row per local order mirrored (its client order id); the local journal's
            # paper_orders and paper_fills are never written by the mirror. state: dry_run
            # (recorded, nothing sent), sent (the broker holds it), failed (reason says why)
            """CREATE TABLE broker_orders (
                client_order_id TEXT PRIMARY KEY,
                ticker TEXT NOT NULL,
                mode TEXT NOT NULL CHECK (mode IN ('dry_run', 'paper')),
                state TEXT NOT NULL CHECK (state IN ('dry_run', 'sent', 'failed')),
                request_json TEXT NOT NULL,     -- the order's body, as sent or as it would be
                attempts INTEGER NOT NULL DEFAULT 0,  -- HTTP submissions tried
                reason TEXT NOT NULL DEFAULT '',      -- why it failed (never a key)
                broker_order_id TEXT,           -- the broker's own id
                broker_status TEXT,             -- new, partially_filled, filled, canceled, ...
                filled_qty REAL,                -- signed: + bought, - sold
                filled_avg_price REAL,
                submitted_at TEXT,              -- the broker's timestamps, as it sent them
                filled_at TEXT,
                broker_updated_at TEXT,
                updated_utc TEXT NOT NULL
            ) WITHOUT ROWID""",
        ),
    ),
    (
        18,
        "imported runs say whether their trained-through date was checked",
        # NULL: trained here (the date is known); 1: an imported run's claimed date was
        # checked against the outcome dates in its own bundle; 0: there was nothing to check
        # it against (the date is the bundle's word only)
        ("ALTER TABLE model_runs ADD COLUMN trained_through_verified INTEGER",),
    ),
    (
        19,
        "model zoo studies",
        (
            """CREATE TABLE zoo_runs (
                id INTEGER PRIMARY KEY,
                created_utc TEXT NOT NULL,
                config_json TEXT NOT NULL,
                table_json TEXT NOT NULL,     -- one row per learner and ensemble
                diversity_json TEXT NOT NULL  -- one row per pair of learners, per ensemble
            )""",
        ),
    ),
    (
        20,
        "signal studies",
        (
            """CREATE TABLE signal_studies (
                id INTEGER PRIMARY KEY,
                created_utc TEXT NOT NULL,
                config_json TEXT NOT NULL,    -- the condition, tickers, as-of date, costs
                table_json TEXT NOT NULL,     -- one row per horizon, its p-value included
                path_json TEXT NOT NULL       -- the average path, 20 sessions either side
            )""",
        ),
    ),
    (
        21,
        "the live record: forecasts as made, and their outcomes, append-only",
        (
            """CREATE TABLE live_forecasts (
                run_id TEXT NOT NULL,
                as_of TEXT NOT NULL,          -- the session the forecast was made at the close of
                ticker TEXT NOT NULL,
                horizon INTEGER NOT NULL,     -- sessions to its outcome
                score REAL,
                p REAL,
                rank INTEGER,
                percentile REAL,
                reasons_digest TEXT NOT NULL, -- SHA-256 of the reasons as shown
                recorded_utc TEXT NOT NULL,
                PRIMARY KEY (run_id, as_of, ticker)
            ) WITHOUT ROWID""",
            """CREATE TABLE live_outcomes (
                run_id TEXT NOT NULL,
                as_of TEXT NOT NULL,
                ticker TEXT NOT NULL,
                outcome_date TEXT NOT NULL,   -- the session the outcome was known at
                excess REAL,                  -- the forward return less the universe's mean
                beat INTEGER,                 -- 1 when it beat the universe's median
                scored_utc TEXT NOT NULL,
                PRIMARY KEY (run_id, as_of, ticker)
            ) WITHOUT ROWID""",
            *(
                f"""CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table}
                BEGIN SELECT RAISE(ABORT, 'the live record is append-only'); END"""
                for table in ("live_forecasts", "live_outcomes")
                for verb in ("update", "delete")
            ),
        ),
    ),
    (
        22,
        "the daily routine: each session's steps, done once",
        (
            """CREATE TABLE routine_steps (
                session TEXT NOT NULL,        -- the NYSE session the routine ran for
                step TEXT NOT NULL,
                status TEXT NOT NULL,         -- done, skipped, failed
                detail TEXT NOT NULL DEFAULT '',
                started_utc TEXT NOT NULL,
                finished_utc TEXT,
                PRIMARY KEY (session, step)
            ) WITHOUT ROWID""",
        ),
    ),
    (
        23,
        "the live record: a second copy of a row is ignored on any connection",
        # a REPLACE deletes the old row before it inserts; its delete trigger fires only
        # where recursive triggers are on (open_db turns them on): this one needs nothing
        tuple(
            f"""CREATE TRIGGER {table}_keep_first BEFORE INSERT ON {table}
            WHEN EXISTS (SELECT 1 FROM {table} WHERE run_id = NEW.run_id
                         AND as_of = NEW.as_of AND ticker = NEW.ticker)
            BEGIN SELECT RAISE(IGNORE); END"""
            for table in ("live_forecasts", "live_outcomes")
        ),
    ),
    (
        24,
        "champions: each promotion, challenger kept and rollback, with its reason",
        (
            """CREATE TABLE champions (
                id INTEGER PRIMARY KEY,
                changed_utc TEXT NOT NULL,
                run_id TEXT NOT NULL,         -- promoted, kept: the challenger; rollback: restored
                previous_run_id TEXT,         -- the champion before (kept: the one that stays)
                reason TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('promoted', 'kept', 'rollback'))
            )""",
        ),
    ),
    (
        25,
        "guardrail trips and resumes; orders refused by a pre-trade check",
        (
            """CREATE TABLE guardrail_trips (
                id INTEGER PRIMARY KEY,
                step_date TEXT NOT NULL,      -- the step that tripped (resumed: the last step)
                check_name TEXT NOT NULL,     -- resumed: 'resume'
                reading REAL,
                threshold REAL,
                reason TEXT NOT NULL,
                event TEXT NOT NULL CHECK (event IN ('tripped', 'resumed')),
                actor TEXT NOT NULL DEFAULT '',  -- who resumed
                recorded_utc TEXT NOT NULL,
                UNIQUE (step_date, check_name, event)
            )""",
            "ALTER TABLE paper_orders ADD COLUMN refused_by TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE broker_orders ADD COLUMN refused_by TEXT NOT NULL DEFAULT ''",
        ),
    ),
    (
        26,
        "live recalibration: each version of a run's live map, append-only",
        (
            """CREATE TABLE live_calibrations (
                run_id TEXT NOT NULL,
                version INTEGER NOT NULL,     -- 1, 2, ... per run
                fitted_as_of TEXT NOT NULL,   -- fitted on outcomes dated on or before it
                outcomes INTEGER NOT NULL,    -- scored forecasts the fit used
                first_outcome_date TEXT,
                last_outcome_date TEXT,
                params TEXT NOT NULL,         -- JSON: the map and its fit
                shrinkage REAL NOT NULL CHECK (shrinkage BETWEEN 0 AND 1),  -- weight on the fit
                created_utc TEXT NOT NULL,
                PRIMARY KEY (run_id, version)
            ) WITHOUT ROWID""",
            *(
                f"""CREATE TRIGGER live_calibrations_no_{verb} BEFORE {verb.upper()}
                ON live_calibrations
                BEGIN SELECT RAISE(ABORT, 'live calibrations are append-only'); END"""
                for verb in ("update", "delete")
            ),
            """CREATE TRIGGER live_calibrations_keep_first BEFORE INSERT ON live_calibrations
            WHEN EXISTS (SELECT 1 FROM live_calibrations WHERE run_id = NEW.run_id
                         AND version = NEW.version)
            BEGIN SELECT RAISE(IGNORE); END""",
        ),
    ),
    (
        27,
        "retraining: the policy in force and its simulations over history",
        (
            """CREATE TABLE retrain_policy (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                policy_json TEXT NOT NULL,    -- engine.modeling.policies.RetrainPolicy
                updated_utc TEXT NOT NULL
            )""",
            """CREATE TABLE policy_runs (
                id INTEGER PRIMARY KEY,
                created_utc TEXT NOT NULL,
                config_json TEXT NOT NULL,
                table_json TEXT NOT NULL,     -- one row per policy, the static one first
                daily_json TEXT NOT NULL      -- each policy's rank IC by session
            )""",
        ),
    ),
)


def utc_now() -> str:
    """Current UTC time as ISO 8601 text (the *_utc columns)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def applied_versions(db: Database) -> set[int]:
    """Versions already applied to ``db``."""
    if "schema_migrations" not in db.table_names():
        return set()
    return {row["version"] for row in db.query("SELECT version FROM schema_migrations")}


def migrate(db: Database, transaction: Callable[[Database], AbstractContextManager]) -> list[int]:
    """Apply all pending migrations in one transaction; return the versions applied.

    ``transaction`` is the store's write-transaction context manager (passed in to keep
    this module free of a circular import).
    """
    if {version for version, _, _ in MIGRATIONS} <= applied_versions(db):
        return []  # the common case: nothing to write, not even a lock
    done = []
    with transaction(db):
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_utc TEXT NOT NULL)"
        )
        pending = [m for m in MIGRATIONS if m[0] not in applied_versions(db)]
        for version, name, statements in pending:
            for statement in statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_utc) VALUES (?, ?, ?)",
                (version, name, utc_now()),
            )
            done.append(version)
    return done
