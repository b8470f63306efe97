-- SPEC §3.4: top management (direktion, chef) vs leaders (leder) at the root. Published only when
-- both groups reach min_cell, the root is published and the exact §3.9 check finds no disclosure.

with

scored as (

    select * from {{ ref('int_respondent_dimensions_scored') }}

),

wave_dimensions as (

    select * from {{ ref('int_wave_dimensions_mapped') }}

),

root_scores as (

    select
        pooled.wave_id,
        pooled.dimension_id,
        suppressed.is_suppressed as is_root_suppressed

    from {{ ref('int_unit_scores_pooled') }} as pooled
    inner join {{ ref('int_unit_scores_suppressed') }} as suppressed
        on
            pooled.wave_id = suppressed.wave_id
            and pooled.dimension_id = suppressed.dimension_id
            and pooled.org_unit_id = suppressed.org_unit_id
    where pooled.depth = 0

),

checked as (

    select * from {{ ref('int_alignment_checked') }}

),

groups as (

    select
        wave_id,
        dimension_id,
        count(*) filter (where role_class = 'top') as n_top,
        count(*) filter (where role_class = 'leader') as n_leader,
        {{ exact_avg("case when role_class = 'top' then cur_rd end") }} as top_mean,
        {{ exact_avg("case when role_class = 'leader' then cur_rd end") }} as leader_mean

    from scored
    group by wave_id, dimension_id

),

decided as (

    select
        wave_dimensions.wave_id,
        wave_dimensions.dimension_id,
        coalesce(groups.n_top, 0) as n_top,
        coalesce(groups.n_leader, 0) as n_leader,
        groups.top_mean,
        groups.leader_mean,
        (
            coalesce(groups.n_top, 0) < {{ var('min_cell') }}
            or coalesce(groups.n_leader, 0) < {{ var('min_cell') }}
            or coalesce(root_scores.is_root_suppressed, true)
            or coalesce(checked.is_disclosive, true)
        ) as is_suppressed

    from wave_dimensions
    left join groups
        on
            wave_dimensions.wave_id = groups.wave_id
            and wave_dimensions.dimension_id = groups.dimension_id
    left join root_scores
        on
            wave_dimensions.wave_id = root_scores.wave_id
            and wave_dimensions.dimension_id = root_scores.dimension_id
    left join checked
        on
            wave_dimensions.wave_id = checked.wave_id
            and wave_dimensions.dimension_id = checked.dimension_id

)

select
    wave_id,
    dimension_id,
    case when not is_suppressed then n_top end as n_top,
    case when not is_suppressed then n_leader end as n_leader,
    case when not is_suppressed then top_mean end as top_mean,
    case when not is_suppressed then leader_mean end as leader_mean,
    case when not is_suppressed then top_mean - leader_mean end as alignment_gap,
    is_suppressed,
    '{{ pipeline_run_id() }}' as run_id

from decided
