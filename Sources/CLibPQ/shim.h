#ifndef RECETTE_CLIBPQ_SHIM_H
#define RECETTE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
