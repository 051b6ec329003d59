#include "sicher/base/status.h"

#include <cerrno>
#include <cstring>

namespace sicher {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kCancelled:
      return "CANCELLED";
    case StatusCode::kUnknown:
      return "UNKNOWN";
    case StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound:
      return "NOT_FOUND";
    case StatusCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case StatusCode::kAborted:
      return "ABORTED";
    case StatusCode::kOutOfRange:
      return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented:
      return "UNIMPLEMENTED";
    case StatusCode::kInternal:
      return "INTERNAL";
    case StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case StatusCode::kDataLoss:
      return "DATA_LOSS";
    case StatusCode::kUnauthenticated:
      return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

Status::Status(StatusCode code, std::string message)
    : code_(code), message_(code == StatusCode::kOk ? std::string() : std::move(message)) {}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

#define SICHER_DEFINE_ERROR(Name, Code) \
  Status Name(std::string message) { return Status(StatusCode::Code, std::move(message)); }
SICHER_DEFINE_ERROR(CancelledError, kCancelled)
SICHER_DEFINE_ERROR(UnknownError, kUnknown)
SICHER_DEFINE_ERROR(InvalidArgumentError, kInvalidArgument)
SICHER_DEFINE_ERROR(DeadlineExceededError, kDeadlineExceeded)
SICHER_DEFINE_ERROR(NotFoundError, kNotFound)
SICHER_DEFINE_ERROR(AlreadyExistsError, kAlreadyExists)
SICHER_DEFINE_ERROR(PermissionDeniedError, kPermissionDenied)
SICHER_DEFINE_ERROR(ResourceExhaustedError, kResourceExhausted)
SICHER_DEFINE_ERROR(FailedPreconditionError, kFailedPrecondition)
SICHER_DEFINE_ERROR(AbortedError, kAborted)
SICHER_DEFINE_ERROR(OutOfRangeError, kOutOfRange)
SICHER_DEFINE_ERROR(UnimplementedError, kUnimplemented)
SICHER_DEFINE_ERROR(InternalError, kInternal)
SICHER_DEFINE_ERROR(UnavailableError, kUnavailable)
SICHER_DEFINE_ERROR(DataLossError, kDataLoss)
SICHER_DEFINE_ERROR(UnauthenticatedError, kUnauthenticated)
#undef SICHER_DEFINE_ERROR

Status ErrnoError(std::string_view what, int err) {
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(std::move(m));
    case EEXIST:
      return AlreadyExistsError(std::move(m));
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDeniedError(std::move(m));
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return ResourceExhaustedError(std::move(m));
    case EINVAL:
    case ENAMETOOLONG:
      return InvalidArgumentError(std::move(m));
    case EAGAIN:
    case EINTR:
    case EBUSY:
      return UnavailableError(std::move(m));
    default:
      return InternalError(std::move(m));
  }
}

}  // namespace sicher
