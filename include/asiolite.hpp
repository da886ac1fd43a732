// asiolite: SQLite for Asio coroutines, without blocking the event loop.
#pragma once

#include <asiolite/authorizer.hpp>
#include <asiolite/backup.hpp>
#include <asiolite/config.hpp>
#include <asiolite/connection.hpp>
#include <asiolite/cursor.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/error.hpp>
#include <asiolite/field_view.hpp>
#include <asiolite/functions.hpp>
#include <asiolite/migrations.hpp>
#include <asiolite/options.hpp>
#include <asiolite/parameters.hpp>
#include <asiolite/pool.hpp>
#include <asiolite/prepared_statement.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>
#include <asiolite/savepoint.hpp>
#include <asiolite/statement_operations.hpp>
#include <asiolite/stats.hpp>
#include <asiolite/subscription.hpp>
#include <asiolite/sync_handle.hpp>
#include <asiolite/trace.hpp>
#include <asiolite/transaction.hpp>
#include <asiolite/watch.hpp>
