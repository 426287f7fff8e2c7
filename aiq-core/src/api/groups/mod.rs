//! `/v1/groups/*`: groups of users who compare scores. The rules live in [`crate::groups`];
//! these handlers parse, call and shape. The list/create route keeps the old trailing slash
//! (`/v1/groups/`); `/v1/groups` is a 404.

mod schema;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::schema::{
    CreateGroupRequest, GroupDetailResponse, GroupInviteResponse, GroupResponse, JoinGroupRequest,
    LeaderboardQuery, LeaderboardResponse, TransferOwnershipRequest,
};
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, query_in_range};
use crate::groups;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, delete_group))
        .routes(routes!(generate_invite))
        .routes(routes!(join_group))
        .routes(routes!(leaderboard))
        .routes(routes!(remove_member))
        .routes(routes!(transfer_ownership))
}

/// The caller's groups, newest first.
#[utoipa::path(
    get,
    path = "/groups/",
    tag = "groups",
    operation_id = "list_groups_v1_groups__get",
    security(("HTTPBearer" = [])),
    responses((status = 200, description = "The caller's groups", body = Vec<GroupResponse>))
)]
async fn list_groups(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Json<Vec<GroupResponse>>, ApiError> {
    let groups = state.storage.user_groups(current.user.id).await?;
    Ok(Json(groups.into_iter().map(GroupResponse::from).collect()))
}

/// Creates a group owned by the caller (10 members at most).
#[utoipa::path(
    post,
    path = "/groups/",
    tag = "groups",
    operation_id = "create_group_v1_groups__post",
    security(("HTTPBearer" = [])),
    request_body = CreateGroupRequest,
    responses(
        (status = 201, description = "Created", body = GroupResponse),
        (status = 422, description = "Blank, too long or control characters in the name"),
    )
)]
async fn create_group(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<CreateGroupRequest>,
) -> Result<(StatusCode, Json<GroupResponse>), ApiError> {
    let group = groups::create_group(
        state.storage.as_ref(),
        current.user.id,
        body.name.into_string(),
        crate::time::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

/// A group with its members, for members.
#[utoipa::path(
    get,
    path = "/groups/{group_id}",
    tag = "groups",
    operation_id = "get_group_v1_groups__group_id__get",
    security(("HTTPBearer" = [])),
    params(("group_id" = i64, Path, description = "The group")),
    responses(
        (status = 200, description = "The group", body = GroupDetailResponse),
        (status = 403, description = "Not a member"),
        (status = 404, description = "No such group"),
    )
)]
async fn get_group(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(group_id): ApiPath<i64>,
) -> Result<Json<GroupDetailResponse>, ApiError> {
    let (group, members) =
        groups::group_detail(state.storage.as_ref(), current.user.id, group_id).await?;
    Ok(Json(GroupDetailResponse::new(group, members)))
}

/// Deletes a group with its memberships and invites, for the owner.
#[utoipa::path(
    delete,
    path = "/groups/{group_id}",
    tag = "groups",
    operation_id = "delete_group_v1_groups__group_id__delete",
    security(("HTTPBearer" = [])),
    params(("group_id" = i64, Path, description = "The group")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not the owner"),
        (status = 404, description = "No such group"),
    )
)]
async fn delete_group(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(group_id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    groups::delete_group(state.storage.as_ref(), current.user.id, group_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A single-use invite code valid for 7 days, for the owner.
#[utoipa::path(
    post,
    path = "/groups/{group_id}/invite",
    tag = "groups",
    operation_id = "generate_invite_v1_groups__group_id__invite_post",
    security(("HTTPBearer" = [])),
    params(("group_id" = i64, Path, description = "The group")),
    responses(
        (status = 200, description = "The invite", body = GroupInviteResponse),
        (status = 403, description = "Not the owner"),
        (status = 404, description = "No such group"),
    )
)]
async fn generate_invite(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(group_id): ApiPath<i64>,
) -> Result<Json<GroupInviteResponse>, ApiError> {
    let invite = groups::create_invite(
        state.storage.as_ref(),
        current.user.id,
        group_id,
        crate::time::now(),
    )
    .await?;
    Ok(Json(invite.into()))
}

/// Joins a group by a single-use invite code or its permanent code.
#[utoipa::path(
    post,
    path = "/groups/join",
    tag = "groups",
    operation_id = "join_group_v1_groups_join_post",
    security(("HTTPBearer" = [])),
    request_body = JoinGroupRequest,
    responses(
        (status = 200, description = "Joined", body = GroupResponse),
        (status = 400, description = "Expired invite, or the group is full"),
        (status = 404, description = "Unknown code"),
        (status = 409, description = "Used invite, or already a member"),
    )
)]
async fn join_group(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<JoinGroupRequest>,
) -> Result<Json<GroupResponse>, ApiError> {
    let group = groups::join(
        state.storage.as_ref(),
        current.user.id,
        body.invite_code.as_str(),
        crate::time::now(),
    )
    .await?;
    Ok(Json(group.into()))
}

/// Members ranked by best IQ score; equal best scores share a rank.
#[utoipa::path(
    get,
    path = "/groups/{group_id}/leaderboard",
    tag = "groups",
    operation_id = "get_leaderboard_v1_groups__group_id__leaderboard_get",
    security(("HTTPBearer" = [])),
    params(("group_id" = i64, Path, description = "The group"), LeaderboardQuery),
    responses(
        (status = 200, description = "The ranking", body = LeaderboardResponse),
        (status = 403, description = "Not a member"),
        (status = 404, description = "No such group"),
    )
)]
async fn leaderboard(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(group_id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<LeaderboardQuery>,
) -> Result<Json<LeaderboardResponse>, ApiError> {
    let days = query
        .days
        .map(|days| query_in_range("days", days, 1, Some(3650)))
        .transpose()?;
    let limit = query
        .limit
        .map(|limit| query_in_range("limit", limit, 1, Some(100)))
        .transpose()?;
    let offset = query
        .offset
        .map(|offset| query_in_range("offset", offset, 0, None))
        .transpose()?;
    let (group, ranked) = groups::leaderboard(
        state.storage.as_ref(),
        current.user.id,
        group_id,
        days,
        crate::time::now(),
    )
    .await?;
    let total_count = ranked.len() as u64;
    let skip = usize::try_from(offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let take = limit.map_or(usize::MAX, |limit| usize::try_from(limit).unwrap_or(0));
    let entries: Vec<_> = ranked.into_iter().skip(skip).take(take).collect();
    let has_more =
        limit.is_some() && (skip as u64).saturating_add(entries.len() as u64) < total_count;
    Ok(Json(LeaderboardResponse {
        group_id: group.id,
        group_name: group.name,
        entries: entries.into_iter().map(Into::into).collect(),
        total_count,
        limit,
        offset: limit.and(offset),
        has_more,
        days,
    }))
}

/// Removes a member (the owner removing someone, or a member leaving). The owner must transfer
/// ownership before leaving.
#[utoipa::path(
    delete,
    path = "/groups/{group_id}/members/{user_id}",
    tag = "groups",
    operation_id = "remove_member_v1_groups__group_id__members__user_id__delete",
    security(("HTTPBearer" = [])),
    params(
        ("group_id" = i64, Path, description = "The group"),
        ("user_id" = i64, Path, description = "The member to remove"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "The owner cannot be removed"),
        (status = 403, description = "Not a member, or not the owner"),
        (status = 404, description = "No such group or member"),
    )
)]
async fn remove_member(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath((group_id, user_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    groups::remove_member(state.storage.as_ref(), current.user.id, group_id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Hands ownership to another member; the caller stays as a member.
#[utoipa::path(
    put,
    path = "/groups/{group_id}/transfer-ownership",
    tag = "groups",
    operation_id = "transfer_ownership_v1_groups__group_id__transfer_ownership_put",
    security(("HTTPBearer" = [])),
    params(("group_id" = i64, Path, description = "The group")),
    request_body = TransferOwnershipRequest,
    responses(
        (status = 200, description = "The group afterwards", body = GroupDetailResponse),
        (status = 400, description = "Already the owner"),
        (status = 403, description = "Not the owner"),
        (status = 404, description = "No such group, or the user is not a member"),
    )
)]
async fn transfer_ownership(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(group_id): ApiPath<i64>,
    ApiJson(body): ApiJson<TransferOwnershipRequest>,
) -> Result<Json<GroupDetailResponse>, ApiError> {
    let (group, members) = groups::transfer_ownership(
        state.storage.as_ref(),
        current.user.id,
        group_id,
        body.new_owner_id.get(),
    )
    .await?;
    Ok(Json(GroupDetailResponse::new(group, members)))
}
