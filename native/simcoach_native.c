/*
 * SimCoach's two ingest hot loops, in C: every rig's batch passes through both.
 *
 * decode_columns: the agent's inflated batch body, msgpack {channel id: [int deltas]}, straight
 *   to a float64 (channels x frames) matrix in each channel's unit. It accepts only what the
 *   Python decoder (apps/telemetry/lib/uplink.py) accepts and returns the same values; for
 *   anything else it returns None and the caller runs the Python decoder, which names the
 *   fault. So the error messages have one source, and this file only has to be right about
 *   good input and safe on bad input: every read is checked against the end of the buffer.
 *
 * format_lines: rows of integers as InfluxDB line protocol, with the GIL released.
 *
 * The Python paths stay as the reference; tests check both agree (apps/telemetry/tests).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Every legal value is within 2**53 steps of zero (as in uplink.py). */
#define MAX_DELTA ((int64_t)1 << 53)
#define MAX_FRAMES 100000
#define MAX_CHANNELS 4096

typedef struct {
    const unsigned char *p, *end;
} Reader;

static int read_be(Reader *r, Py_ssize_t size, uint64_t *out)
{
    if (r->end - r->p < size)
        return 0;
    uint64_t v = 0;
    for (Py_ssize_t i = 0; i < size; i++)
        v = (v << 8) | r->p[i];
    r->p += size;
    *out = v;
    return 1;
}

/* The next msgpack object as an int64; 0 if it is not an integer or does not fit one. */
static int read_int(Reader *r, int64_t *out)
{
    uint64_t u;
    if (r->p >= r->end)
        return 0;
    unsigned char tag = *r->p++;
    if (tag <= 0x7f) {
        *out = tag;
        return 1;
    }
    if (tag >= 0xe0) {
        *out = (int8_t)tag;
        return 1;
    }
    switch (tag) {
    case 0xcc: if (!read_be(r, 1, &u)) return 0; *out = (int64_t)u; return 1;
    case 0xcd: if (!read_be(r, 2, &u)) return 0; *out = (int64_t)u; return 1;
    case 0xce: if (!read_be(r, 4, &u)) return 0; *out = (int64_t)u; return 1;
    case 0xcf:
        if (!read_be(r, 8, &u) || u > (uint64_t)INT64_MAX) return 0;
        *out = (int64_t)u;
        return 1;
    case 0xd0: if (!read_be(r, 1, &u)) return 0; *out = (int8_t)u; return 1;
    case 0xd1: if (!read_be(r, 2, &u)) return 0; *out = (int16_t)u; return 1;
    case 0xd2: if (!read_be(r, 4, &u)) return 0; *out = (int32_t)u; return 1;
    case 0xd3: if (!read_be(r, 8, &u)) return 0; *out = (int64_t)u; return 1;
    default: return 0;
    }
}

/* A container header: `fix` is the fixmap/fixarray base tag, `w16`/`w32` the sized tags. */
static int read_len(Reader *r, unsigned char fix, unsigned char w16, unsigned char w32, uint64_t *out)
{
    if (r->p >= r->end)
        return 0;
    unsigned char tag = *r->p++;
    if ((tag & 0xf0) == fix) {
        *out = tag & 0x0f;
        return 1;
    }
    if (tag == w16)
        return read_be(r, 2, out);
    if (tag == w32)
        return read_be(r, 4, out);
    return 0;
}

/* Scale one column of deltas into `row`; 0 if a delta or a value is out of range. */
static int column_values(Reader *r, Py_ssize_t n, double res, double lo, double hi, double *row)
{
    int64_t acc = 0, d;
    for (Py_ssize_t j = 0; j < n; j++) {
        if (!read_int(r, &d) || d > MAX_DELTA || d < -MAX_DELTA)
            return 0;
        acc += d; /* cannot wrap: |acc| <= MAX_FRAMES * 2**53 < 2**63 */
        double v = (double)acc * res;
        if (!(v >= lo && v <= hi))
            return 0;
        row[j] = v;
    }
    return 1;
}

typedef struct {
    Py_buffer raw, res, lo, hi;
} Inputs;

static void inputs_release(Inputs *in)
{
    PyBuffer_Release(&in->raw);
    PyBuffer_Release(&in->res);
    PyBuffer_Release(&in->lo);
    PyBuffer_Release(&in->hi);
}

/* decode_columns(raw, n, res, lo, hi) -> (ids, float64 bytes) | None */
static PyObject *decode_columns(PyObject *self, PyObject *args)
{
    Inputs in;
    Py_ssize_t n;
    memset(&in, 0, sizeof in);
    if (!PyArg_ParseTuple(args, "y*ny*y*y*", &in.raw, &n, &in.res, &in.lo, &in.hi))
        return NULL;
    Py_ssize_t nch = in.res.len / (Py_ssize_t)sizeof(double);
    if (n < 1 || n > MAX_FRAMES || nch > MAX_CHANNELS || in.lo.len != in.res.len || in.hi.len != in.res.len) {
        inputs_release(&in);
        PyErr_SetString(PyExc_ValueError, "decode_columns: bad arguments");
        return NULL;
    }
    const double *res = in.res.buf, *lo = in.lo.buf, *hi = in.hi.buf;
    Reader r = {in.raw.buf, (const unsigned char *)in.raw.buf + in.raw.len};
    PyObject *ids = NULL, *values = NULL;
    unsigned char seen[MAX_CHANNELS];
    memset(seen, 0, (size_t)nch);
    uint64_t k, len;
    if (!read_len(&r, 0x80, 0xde, 0xdf, &k) || k > (uint64_t)nch)
        goto fallback;
    ids = PyTuple_New((Py_ssize_t)k);
    values = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)k * n * (Py_ssize_t)sizeof(double));
    if (ids == NULL || values == NULL)
        goto error;
    double *out = (double *)PyBytes_AS_STRING(values);
    for (Py_ssize_t i = 0; i < (Py_ssize_t)k; i++) {
        int64_t cid;
        if (!read_int(&r, &cid) || cid < 0 || cid >= nch || seen[cid])
            goto fallback;
        seen[cid] = 1;
        if (!read_len(&r, 0x90, 0xdc, 0xdd, &len) || len != (uint64_t)n)
            goto fallback;
        if (!column_values(&r, n, res[cid], lo[cid], hi[cid], out + i * n))
            goto fallback;
        PyObject *id = PyLong_FromLongLong(cid);
        if (id == NULL)
            goto error;
        PyTuple_SET_ITEM(ids, i, id);
    }
    if (r.p != r.end) /* trailing bytes: msgpack would call the body corrupt */
        goto fallback;
    inputs_release(&in);
    PyObject *result = PyTuple_Pack(2, ids, values);
    Py_DECREF(ids);
    Py_DECREF(values);
    return result;
fallback:
    Py_XDECREF(ids);
    Py_XDECREF(values);
    inputs_release(&in);
    Py_RETURN_NONE;
error:
    Py_XDECREF(ids);
    Py_XDECREF(values);
    inputs_release(&in);
    return NULL;
}

/* Decimal digits of v at p; returns the end. */
static char *put_int(char *p, int64_t v)
{
    char tmp[24];
    int len = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[len++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *p++ = '-';
    while (len)
        *p++ = tmp[--len];
    return p;
}

/*
 * format_lines(parts, ints, rows, omit=b"", lead=0, stop=0) -> bytes
 * parts: 2*K bytes objects, the text before and after each of the K integers of a row (the
 * last "after" ends the row); ints: rows x K int64, row-major. Rows are joined by newlines.
 * omit: empty, or rows x (stop - lead) bytes, nonzero for a value of slots lead..stop-1 (the
 * fields) to leave out. The row's first field written then has the first byte of its
 * "before" (a comma) replaced by a space, and a row must keep at least one field.
 */
static PyObject *format_lines(PyObject *self, PyObject *args)
{
    PyObject *parts;
    Py_buffer ints, omit = {0};
    Py_ssize_t rows, lead = 0, stop = 0;
    if (!PyArg_ParseTuple(args, "O!y*n|y*nn", &PyTuple_Type, &parts, &ints, &rows, &omit, &lead, &stop))
        return NULL;
    Py_ssize_t np = PyTuple_GET_SIZE(parts), K = np / 2, F = stop - lead;
    int bad_shape = np % 2 || K == 0 || rows < 0 || ints.len != rows * K * (Py_ssize_t)sizeof(int64_t);
    int bad_omit = omit.len && (lead < 0 || F < 1 || stop > K || omit.len != rows * F);
    if (bad_shape || bad_omit) {
        PyBuffer_Release(&ints);
        PyBuffer_Release(&omit);
        PyErr_SetString(PyExc_ValueError, "format_lines: parts, ints and omit do not match");
        return NULL;
    }
    const char **text = PyMem_Malloc(sizeof(char *) * (size_t)np);
    Py_ssize_t *size = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)np);
    Py_ssize_t per_row = 1;
    if (text == NULL || size == NULL)
        goto nomem;
    for (Py_ssize_t i = 0; i < np; i++) {
        PyObject *b = PyTuple_GET_ITEM(parts, i);
        if (!PyBytes_Check(b) || (omit.len && i / 2 >= lead && i / 2 < stop && i % 2 == 0 && PyBytes_GET_SIZE(b) == 0)) {
            PyErr_SetString(PyExc_TypeError, "format_lines: parts must be bytes, a field's before-text non-empty");
            goto fail;
        }
        text[i] = PyBytes_AS_STRING(b);
        size[i] = PyBytes_GET_SIZE(b);
        per_row += size[i] + 20; /* 19 digits and a sign at most */
    }
    if (rows > PY_SSIZE_T_MAX / per_row) {
        PyErr_SetString(PyExc_OverflowError, "format_lines: too many rows");
        goto fail;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, rows * per_row);
    if (out == NULL)
        goto fail;
    char *p = PyBytes_AS_STRING(out);
    const int64_t *v = ints.buf;
    const unsigned char *skip = omit.len ? omit.buf : NULL;
    Py_ssize_t empty_row = -1;
    /* Only our own buffers from here on: the tuple (and so the parts) outlive the call. */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; row < rows && empty_row < 0; row++) {
        if (row)
            *p++ = '\n';
        int first = 1;
        for (Py_ssize_t j = 0; j < K; j++, v++) {
            int field = j >= lead && j < stop;
            if (skip && field && skip[row * F + (j - lead)])
                continue;
            const char *before = text[2 * j];
            Py_ssize_t n = size[2 * j];
            if (skip && field && first) {
                *p++ = ' ';
                before++;
                n--;
            }
            first = first && !field;
            memcpy(p, before, (size_t)n);
            p = put_int(p + n, *v);
            memcpy(p, text[2 * j + 1], (size_t)size[2 * j + 1]);
            p += size[2 * j + 1];
        }
        if (skip && first)
            empty_row = row;
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(text);
    PyMem_Free(size);
    PyBuffer_Release(&ints);
    PyBuffer_Release(&omit);
    if (empty_row >= 0) {
        Py_DECREF(out);
        PyErr_Format(PyExc_ValueError, "format_lines: row %zd has no field left", empty_row);
        return NULL;
    }
    if (_PyBytes_Resize(&out, p - PyBytes_AS_STRING(out)) < 0)
        return NULL;
    return out;
nomem:
    PyErr_NoMemory();
fail:
    PyMem_Free(text);
    PyMem_Free(size);
    PyBuffer_Release(&ints);
    PyBuffer_Release(&omit);
    return NULL;
}

static PyMethodDef methods[] = {
    {"decode_columns", decode_columns, METH_VARARGS,
     "decode_columns(raw, n, res, lo, hi) -> (ids, float64 bytes) or None to use the Python decoder"},
    {"format_lines", format_lines, METH_VARARGS,
     "format_lines(parts, ints, rows, omit=b\"\", lead=0, stop=0) -> line protocol bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "simcoach_native", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_simcoach_native(void) { return PyModule_Create(&module); }
