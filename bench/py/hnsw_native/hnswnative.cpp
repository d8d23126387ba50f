// hnswlib 0.6.2 (Debian's libhnswlib-dev headers) compiled for this machine's CPU (-O3 -march=native), as
// `pip install hnswlib` builds it from source. Debian's python3-hnswlib is built for baseline x86-64, so its distance
// kernels are SSE only; this module is the same library with AVX/AVX-512 kernels, for the search bench.
//
// The surface is the part of hnswlib's Python binding that bench/py/search_py.py uses, with the same behaviour:
// add_items adds the first row alone (it becomes the entry point) and the rest on set_num_threads threads; knn_query
// answers one query on the calling thread and several on the pool; the GIL is released while the library works.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <hnswlib/hnswlib.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace py = pybind11;

namespace {

template <class Fn>
void parallel_for(size_t start, size_t end, size_t threads, Fn fn) {
    if (threads <= 1 || end - start <= 1) {
        for (size_t i = start; i < end; i++) fn(i);
        return;
    }
    std::atomic<size_t> next(start);
    std::exception_ptr error;
    std::mutex error_lock;
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; t++) {
        pool.emplace_back([&] {
            for (size_t i = next.fetch_add(1); i < end; i = next.fetch_add(1)) {
                try {
                    fn(i);
                } catch (...) {
                    std::lock_guard<std::mutex> guard(error_lock);
                    if (!error) error = std::current_exception();
                    next = end;
                }
            }
        });
    }
    for (auto &t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

using Rows = py::array_t<float, py::array::c_style | py::array::forcecast>;

class Index {
public:
    explicit Index(size_t dim) : dim_(dim), space_(dim) {}

    void init_index(size_t max_elements, size_t m, size_t ef_construction, size_t random_seed) {
        alg_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space_, max_elements, m, ef_construction, random_seed);
    }

    void set_num_threads(size_t threads) { threads_ = threads == 0 ? 1 : threads; }

    void set_ef(size_t ef) { checked().setEf(ef); }

    void add_items(Rows data, py::object ids) {
        auto &alg = checked();
        if (data.ndim() != 2 || static_cast<size_t>(data.shape(1)) != dim_) throw std::invalid_argument("data must be rows of dim floats");
        const size_t rows = data.shape(0);
        const float *p = data.data();
        std::vector<uint64_t> labels(rows);
        if (ids.is_none()) {
            for (size_t i = 0; i < rows; i++) labels[i] = next_label_ + i;
        } else {
            auto given = ids.cast<py::array_t<uint64_t, py::array::c_style | py::array::forcecast>>();
            if (given.ndim() != 1 || static_cast<size_t>(given.shape(0)) != rows) throw std::invalid_argument("one id per row");
            for (size_t i = 0; i < rows; i++) labels[i] = given.data()[i];
        }
        next_label_ += rows;
        py::gil_scoped_release release;
        if (rows == 0) return;
        size_t threads = rows <= threads_ * 4 ? 1 : threads_;
        alg.addPoint(p, labels[0]);
        parallel_for(1, rows, threads, [&](size_t i) { alg.addPoint(p + i * dim_, labels[i]); });
    }

    py::tuple knn_query(Rows queries, size_t k) {
        auto &alg = checked();
        if (queries.ndim() != 2 || static_cast<size_t>(queries.shape(1)) != dim_) throw std::invalid_argument("queries must be rows of dim floats");
        const size_t rows = queries.shape(0);
        const float *q = queries.data();
        py::array_t<uint64_t> labels({rows, k});
        py::array_t<float> distances({rows, k});
        uint64_t *l = labels.mutable_data();
        float *d = distances.mutable_data();
        {
            py::gil_scoped_release release;
            size_t threads = rows <= threads_ * 4 ? 1 : threads_;
            parallel_for(0, rows, threads, [&](size_t r) {
                auto top = alg.searchKnn(q + r * dim_, k);
                if (top.size() != k) throw std::runtime_error("fewer than k results: raise ef or add more items");
                for (size_t i = k; i-- > 0;) {
                    l[r * k + i] = top.top().second;
                    d[r * k + i] = top.top().first;
                    top.pop();
                }
            });
        }
        return py::make_tuple(labels, distances);
    }

private:
    hnswlib::HierarchicalNSW<float> &checked() {
        if (!alg_) throw std::logic_error("init_index first");
        return *alg_;
    }

    size_t dim_;
    hnswlib::InnerProductSpace space_;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> alg_;
    size_t threads_ = std::thread::hardware_concurrency();
    size_t next_label_ = 0;
};

}  // namespace

PYBIND11_MODULE(hnswnative, m) {
    m.doc() = "hnswlib 0.6.2 built with -O3 -march=native (inner product only), for bench/py/search_py.py";
    py::class_<Index>(m, "Index")
        .def(py::init<size_t>(), py::arg("dim"))
        .def("init_index", &Index::init_index, py::arg("max_elements"), py::arg("M") = 16, py::arg("ef_construction") = 200,
             py::arg("random_seed") = 100)
        .def("set_num_threads", &Index::set_num_threads)
        .def("set_ef", &Index::set_ef)
        .def("add_items", &Index::add_items, py::arg("data"), py::arg("ids") = py::none())
        .def("knn_query", &Index::knn_query, py::arg("data"), py::arg("k") = 1);
}
