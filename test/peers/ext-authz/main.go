// Command ext-authz-peer is the authorization service of Tollgate's gRPC ExternalAuth
// end-to-end test: grpc-go serving Envoy's ext_authz API through Envoy's own generated types
// (go-control-plane), so the test checks the gateway's messages against Envoy's definitions
// rather than against a copy of them.
//
// It listens on 127.0.0.1 (a free port), prints "listening PORT", then one JSON line per
// check: {"traceparent": "...", "request": <the CheckRequest in protojson>}. What it answers
// is chosen by the checked request's Authorization header (see answer).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type authorizer struct {
	authv3.UnimplementedAuthorizationServer
	out sync.Mutex
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

func (a *authorizer) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	traceparent := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("traceparent")) > 0 {
		traceparent = md.Get("traceparent")[0]
	}
	request, err := protojson.Marshal(req)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "cannot print the request: %v", err)
	}
	line, err := json.Marshal(map[string]any{"traceparent": traceparent, "request": json.RawMessage(request)})
	if err != nil {
		return nil, status.Errorf(codes.Internal, "cannot print the request: %v", err)
	}
	a.out.Lock()
	fmt.Println(string(line))
	a.out.Unlock()
	return answer(req.GetAttributes().GetRequest().GetHttp().GetHeaders()["authorization"])
}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ext-authz-peer:", err)
		os.Exit(1)
	}
	server := grpc.NewServer()
	authv3.RegisterAuthorizationServer(server, &authorizer{})
	fmt.Printf("listening %d\n", listener.Addr().(*net.TCPAddr).Port)
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, "ext-authz-peer:", err)
		os.Exit(1)
	}
}
