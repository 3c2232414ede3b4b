// Command ext-authz-peer is the authorization service of Tollgate's gRPC ExternalAuth
// end-to-end test, the rate limit service of its global rate limit one and the access log
// service of its grpcService access log one: grpc-go serving Envoy's ext_authz, rls and ALS
// APIs through Envoy's own generated types (go-control-plane), so the tests check the
// gateway's messages against Envoy's definitions rather than against a copy of them.
//
// It listens on 127.0.0.1 (a free port), prints "listening PORT", then one JSON line per
// call: {"traceparent": "...", "request": <the CheckRequest in protojson>} for a check,
// {"traceparent": "...", "rls": <the RateLimitRequest in protojson>} for a rate limit call,
// {"traceparent": "", "als": <the StreamAccessLogsMessage in protojson>} for each message of
// an access log stream.
// What it answers is chosen by the checked request's Authorization header (see answer), or
// by the rate limit request's `x-scenario` entry (see rateLimitAnswer).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	alsv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type authorizer struct {
	authv3.UnimplementedAuthorizationServer
	out *sync.Mutex
}

type rateLimiter struct {
	rlsv3.UnimplementedRateLimitServiceServer
	out *sync.Mutex
}

type accessLogs struct {
	alsv3.UnimplementedAccessLogServiceServer
	out *sync.Mutex
}

func header(key, value string, action corev3.HeaderValueOption_HeaderAppendAction) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: key, Value: value}, AppendAction: action}
}

// answer: "Bearer good" is allowed with one header per append action, removals and a
// response header; "Bearer bad" is denied with a 401, a challenge and a body; "Bearer
// unavailable" fails the call; anything else is allowed as it is.
func answer(authorization string) (*authv3.CheckResponse, error) {
	switch authorization {
	case "Bearer good":
		return &authv3.CheckResponse{
			Status: &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				Headers: []*corev3.HeaderValueOption{
					header("x-user-id", "alice", corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD),
					header("x-tier", "gold", corev3.HeaderValueOption_ADD_IF_ABSENT),
					header("x-note", "checked", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS),
					header("x-replaced", "by-auth", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD),
					{Header: &corev3.HeaderValue{Key: "x-appended", Value: "two"}, Append: wrapperspb.Bool(true)},
					{Header: &corev3.HeaderValue{Key: "x-raw", RawValue: []byte("bytes")}},
				},
				HeadersToRemove:      []string{"authorization"},
				ResponseHeadersToAdd: []*corev3.HeaderValueOption{header("x-auth-served", "yes", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)},
			}},
		}, nil
	case "Bearer bad":
		return &authv3.CheckResponse{
			Status: &rpcstatus.Status{Code: int32(codes.PermissionDenied)},
			HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
				Status:  &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized},
				Headers: []*corev3.HeaderValueOption{header("www-authenticate", `Bearer realm="edge"`, corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)},
				Body:    `{"error":"token expired"}`,
			}},
		}, nil
	case "Bearer unavailable":
		return nil, status.Error(codes.Unavailable, "policy store down")
	default:
		return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.OK)}}, nil
	}
}

// rateLimitAnswer: "over" is OVER_LIMIT with two descriptor statuses, a response header and
// a body; "unknown" has overall code UNKNOWN (which Envoy takes as OK); anything else is OK with a header for the
// forwarded request, one for the answer and a status per descriptor.
func rateLimitAnswer(req *rlsv3.RateLimitRequest) *rlsv3.RateLimitResponse {
	scenario := ""
	for _, d := range req.GetDescriptors() {
		for _, e := range d.GetEntries() {
			if e.GetKey() == "x-scenario" {
				scenario = e.GetValue()
			}
		}
	}
	limit := func(name string, perUnit uint32, unit rlsv3.RateLimitResponse_RateLimit_Unit) *rlsv3.RateLimitResponse_RateLimit {
		return &rlsv3.RateLimitResponse_RateLimit{Name: name, RequestsPerUnit: perUnit, Unit: unit}
	}
	switch scenario {
	case "over":
		return &rlsv3.RateLimitResponse{
			OverallCode: rlsv3.RateLimitResponse_OVER_LIMIT,
			Statuses: []*rlsv3.RateLimitResponse_DescriptorStatus{
				{Code: rlsv3.RateLimitResponse_OVER_LIMIT, CurrentLimit: limit("per-client", 10, rlsv3.RateLimitResponse_RateLimit_MINUTE), LimitRemaining: 0, DurationUntilReset: durationpb.New(30_500_000_000)},
				{Code: rlsv3.RateLimitResponse_OK, CurrentLimit: limit("", 1000, rlsv3.RateLimitResponse_RateLimit_HOUR), LimitRemaining: 700, DurationUntilReset: durationpb.New(1_800_000_000_000)},
			},
			ResponseHeadersToAdd: []*corev3.HeaderValue{{Key: "x-rls-policy", Value: "per-client"}},
			RawBody:              []byte("over the limit"),
		}
	case "unknown":
		return &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_UNKNOWN}
	default:
		return &rlsv3.RateLimitResponse{
			OverallCode:          rlsv3.RateLimitResponse_OK,
			Statuses:             []*rlsv3.RateLimitResponse_DescriptorStatus{{Code: rlsv3.RateLimitResponse_OK, CurrentLimit: limit("per-client", 10, rlsv3.RateLimitResponse_RateLimit_SECOND), LimitRemaining: 9}},
			RequestHeadersToAdd:  []*corev3.HeaderValue{{Key: "x-rls-tier", Value: "gold"}},
			ResponseHeadersToAdd: []*corev3.HeaderValue{{Key: "x-rls-note", RawValue: []byte("raw")}},
		}
	}
}

// printCall writes one JSON line: the call's traceparent and its request, in protojson, under `field`.
func printCall(ctx context.Context, out *sync.Mutex, field string, req proto.Message) error {
	traceparent := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("traceparent")) > 0 {
		traceparent = md.Get("traceparent")[0]
	}
	request, err := protojson.Marshal(req)
	if err != nil {
		return status.Errorf(codes.Internal, "cannot print the request: %v", err)
	}
	line, err := json.Marshal(map[string]any{"traceparent": traceparent, field: json.RawMessage(request)})
	if err != nil {
		return status.Errorf(codes.Internal, "cannot print the request: %v", err)
	}
	out.Lock()
	fmt.Println(string(line))
	out.Unlock()
	return nil
}

func (a *authorizer) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	if err := printCall(ctx, a.out, "request", req); err != nil {
		return nil, err
	}
	return answer(req.GetAttributes().GetRequest().GetHttp().GetHeaders()["authorization"])
}

func (r *rateLimiter) ShouldRateLimit(ctx context.Context, req *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
	if err := printCall(ctx, r.out, "rls", req); err != nil {
		return nil, err
	}
	return rateLimitAnswer(req), nil
}

// StreamAccessLogs prints each message of the stream, and ends it as Envoy's own access log
// servers do: with OK and no message (the API's response is never sent).
func (l *accessLogs) StreamAccessLogs(stream alsv3.AccessLogService_StreamAccessLogsServer) error {
	for {
		message, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := printCall(stream.Context(), l.out, "als", message); err != nil {
			return err
		}
	}
}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ext-authz-peer:", err)
		os.Exit(1)
	}
	server := grpc.NewServer()
	out := &sync.Mutex{}
	authv3.RegisterAuthorizationServer(server, &authorizer{out: out})
	rlsv3.RegisterRateLimitServiceServer(server, &rateLimiter{out: out})
	alsv3.RegisterAccessLogServiceServer(server, &accessLogs{out: out})
	fmt.Printf("listening %d\n", listener.Addr().(*net.TCPAddr).Port)
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, "ext-authz-peer:", err)
		os.Exit(1)
	}
}
